BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'The Fssd module' {
    It 'imports and exports exactly the cmdlets its manifest lists' {
        $manifest = Import-PowerShellDataFile (Join-Path $ModulePath 'Fssd.psd1')
        $exported = (Get-Module Fssd).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        $manifest.PowerShellVersion | Should -Be '7.4'
    }

    It 'runs a tensor operation inside PowerShell, in its own load context' {
        $null = Get-FssdContext
        $alc = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'Fssd'
        $alc | Should -Not -BeNullOrEmpty
        $torchAssembly = $alc.Assemblies | Where-Object { $_.GetName().Name -eq 'TorchSharp' }
        $torchAssembly | Should -Not -BeNullOrEmpty
        $torch = $torchAssembly.GetType('TorchSharp.torch')
        $arange = $torch.GetMethods() | Where-Object {
            $_.Name -eq 'arange' -and $_.GetParameters()[0].ParameterType.Name -eq 'Scalar' -and
            -not ($_.GetParameters() | Select-Object -Skip 1 | Where-Object { -not $_.HasDefaultValue }) } |
            Select-Object -First 1
        $arange | Should -Not -BeNullOrEmpty
        $scalarType = $torchAssembly.GetType('TorchSharp.Scalar')
        $ten = $scalarType.GetMethod('op_Implicit', [type[]]@([int])).Invoke($null, @(10))
        $callArgs = @($ten) + @($arange.GetParameters() | Select-Object -Skip 1 | ForEach-Object { $_.DefaultValue })
        $t = $arange.Invoke($null, $callArgs)
        try {
            $sum = $t.sum()
            $sum.item[long]() | Should -Be 45
            $sum.Dispose()
        } finally { $t.Dispose() }
    }

    It 'keeps the types users name in scripts resolvable' {
        ([Fssd.FssdContextInfo]).FullName | Should -Be 'Fssd.FssdContextInfo'
        (Get-FssdContext) | Should -BeOfType ([Fssd.FssdContextInfo])
    }

    It 'is usable from several runspaces at once' {
        $path = $ModulePath
        $devices = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module $using:path
            (Get-FssdContext).Device
        }
        $devices | Should -Be @('cpu', 'cpu', 'cpu', 'cpu')
    }
}

Describe 'Native libraries' {
    BeforeAll { $null = Get-FssdContext }

    It 'maps libtorch_cpu from the module folder only' -Skip:(-not $IsLinux) {
        $maps = Get-Content /proc/self/maps | Where-Object { $_ -match 'libtorch|libc10|LibTorchSharp' }
        $paths = $maps | ForEach-Object { ($_ -split '\s+', 6)[5] } | Sort-Object -Unique
        $paths | Should -Not -BeNullOrEmpty
        $native = (Resolve-Path (Join-Path $ModulePath 'runtimes/linux-x64/native')).Path
        foreach ($p in $paths) { $p | Should -BeLike "$native/*" }
        $paths | Where-Object { $_ -like '*libtorch_cpu.so' } | Should -HaveCount 1
    }

    It 'never makes a cpu/ copy of the natives in the module folder' {
        Get-ChildItem -LiteralPath $ModulePath -Recurse -Directory | Where-Object Name -in 'cpu', 'cuda-12.8' |
            Should -BeNullOrEmpty
    }

    It 'carries the natives of its own platform only' -Skip:(-not $IsLinux) {
        (Get-ChildItem (Join-Path $ModulePath 'runtimes') -Directory).Name | Should -Be 'linux-x64'
        $names = (Get-ChildItem (Join-Path $ModulePath 'runtimes/linux-x64/native') -File).Name
        foreach ($n in 'libtorch_cpu.so', 'libtorch.so', 'libc10.so', 'libLibTorchSharp.so', 'libgomp-98b21ff3.so.1') {
            $names | Should -Contain $n
        }
        $names | Where-Object { $_ -like '*.dll' -or $_ -like '*python*' -or $_ -like '*test*' } | Should -BeNullOrEmpty
    }

    It 'has the GLIBCXX_3.4.32 need marked weak in its own copy of libLibTorchSharp, not in the NuGet cache' -Skip:(-not $IsLinux -or -not (Get-Command readelf -ErrorAction Ignore)) {
        $own = Join-Path $ModulePath 'runtimes/linux-x64/native/libLibTorchSharp.so'
        (readelf -V $own | Select-String 'GLIBCXX_3.4.32') -join "`n" | Should -Match 'Flags: WEAK'
        $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $cached = Join-Path $packages 'torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so'
        if (Test-Path $cached) {
            (readelf -V $cached | Select-String 'Name: GLIBCXX_3.4.32') -join "`n" | Should -Match 'Flags: none'
        }
    }
}

Describe 'Dependency isolation' {
    It 'keeps working when an older Google.Protobuf was loaded before the module' {
        $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $old = Join-Path $packages 'google.protobuf/3.10.1/lib/netstandard2.0/Google.Protobuf.dll'
        Test-Path $old | Should -BeTrue -Because 'build/tools/Tools.csproj downloads Google.Protobuf 3.10.1'
        $out = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Add-Type -LiteralPath '$old'
Import-Module '$ModulePath'
`$ctx = Get-FssdContext
'default=' + ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Google.Protobuf' -and [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_) -eq [System.Runtime.Loader.AssemblyLoadContext]::Default } | ForEach-Object { `$_.GetName().Version })
'ours=' + `$ctx.Dependencies['Google.Protobuf']
'torch=' + `$ctx.TorchVersion
"@
        $out | Should -Contain 'default=3.10.1.0'
        ($out | Where-Object { $_ -like 'ours=*' }) | Should -Not -Be 'ours=3.10.1.0'
        ($out | Where-Object { $_ -like 'ours=*' }) | Should -Match '^ours=3\.\d+'
        $out | Should -Contain 'torch=2.10.0'
    }
}
