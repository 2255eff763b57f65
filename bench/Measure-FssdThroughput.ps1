<#
.SYNOPSIS
    Measure-Fssd from PNG files: images per second with eps 0 and eps != 0, and peak memory at
    20,000 files against 2,000.
.DESCRIPTION
    Writes FashionMNIST's 10,000 test images and MNIST's 10,000 digits as PNG files (once, into
    -WorkPath), then scores them with the default model and its noise center:
      - all four taps with eps = 0 (one forward pass per batch),
      - the fc1 tap with eps = 0.01 (forward, backward, forward per batch).
    Each run is a fresh pwsh process, so its peak resident memory (the process's peak working set)
    belongs to that run alone; the same run on the first 2,000 files gives the comparison.
    Prints one line per run and the ratio of peak memory at 20,000 to 2,000 files.
.EXAMPLE
    dotnet pwsh ./bench/Measure-FssdThroughput.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-bench-png'),
    [int] $BatchSize = 128
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module $ModulePath

$marker = Join-Path $WorkPath '.complete'
if (-not (Test-Path $marker)) {
    Remove-Item -Recurse -Force $WorkPath -ErrorAction SilentlyContinue
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $WorkPath 'fashion')
    Export-FssdDataset -Dataset MNIST -Path (Join-Path $WorkPath 'mnist')
    Set-Content $marker 'ok'
    Write-Host ("Wrote 20,000 PNG files in {0:F1} s" -f $clock.Elapsed.TotalSeconds)
}
$files = @(Get-ChildItem -LiteralPath $WorkPath -Recurse -Filter *.png | Sort-Object FullName | ForEach-Object FullName)
$list = Join-Path $WorkPath 'files.txt'
Set-Content -LiteralPath $list -Value $files

function Invoke-Run([int] $Count, [double] $Epsilon, [string] $Layer) {
    $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
`$model = Import-FssdModel
`$center = New-FssdCenter -Model `$model
`$files = Get-Content -LiteralPath '$list' -TotalCount $Count
`$layers = if ('$Layer') { @{ Layer = '$Layer' } } else { @{} }
`$null = `$files[0..255] | Measure-Fssd -Model `$model -Center `$center -Epsilon $Epsilon -BatchSize $BatchSize @layers
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$n = 0
`$files | Measure-Fssd -Model `$model -Center `$center -Epsilon $Epsilon -BatchSize $BatchSize @layers | ForEach-Object { `$n++ }
`$seconds = `$clock.Elapsed.TotalSeconds
`$process = [Diagnostics.Process]::GetCurrentProcess()
`$process.Refresh()
'{0} {1} {2}' -f `$n, `$seconds, `$process.PeakWorkingSet64
"@
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
    $out = & $exe @prefix -NoProfile -NonInteractive -EncodedCommand $encoded
    if ($LASTEXITCODE -ne 0) { throw "Benchmark run failed: $out" }
    $n, $seconds, $peak = ($out | Select-Object -Last 1) -split ' '
    [pscustomobject]@{
        Files = [int]$n; Epsilon = '{0:G3}' -f $Epsilon; Taps = if ($Layer) { $Layer } else { 'all 4' }
        Seconds = [math]::Round([double]$seconds, 1); ImagesPerSecond = [math]::Round([int]$n / [double]$seconds)
        PeakMiB = [math]::Round([double]$peak / 1MB)
    }
}

$context = Get-FssdContext
Write-Host ("{0:yyyy-MM-dd}, {1} cores, {2}, libtorch {3}, {4} threads, batch {5}" -f (Get-Date), [Environment]::ProcessorCount,
    (Get-Content /proc/cpuinfo -ErrorAction SilentlyContinue | Select-String 'model name' | Select-Object -First 1).Line, $context.TorchVersion, $context.Threads, $BatchSize)
$runs = @(
    Invoke-Run 20000 0 ''
    Invoke-Run 20000 0.01 'fc1'
    Invoke-Run 2000 0 ''
)
$runs | Format-Table | Out-Host
$ratio = $runs[0].PeakMiB / $runs[2].PeakMiB
Write-Host ("Peak memory, 20,000 files / 2,000 files: {0:F3} ({1} MiB / {2} MiB)" -f $ratio, $runs[0].PeakMiB, $runs[2].PeakMiB)
