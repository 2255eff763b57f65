<#
.SYNOPSIS
    What one node adds to a sharded run: Measure-Fssd's images per second with and without a results
    file, a restart over a finished shard, two workers splitting the node, listing, merging, and a
    worker's start.
.DESCRIPTION
    Writes FashionMNIST's 10,000 test images as PNG files (once, into -WorkPath) and scores them with the
    default detector (what a fleet would send, exported with -EmbedWeights). Every run is a fresh pwsh
    process, repeated -Repeat times; the median is printed. Runs:
      pipeline   Get-ChildItem | Measure-Fssd, objects counted (one worker, -Threads threads); beside it
                 the same at eps 0 with the default model and its noise F* (one forward pass a batch)
      shard 0/1  Get-FssdShard -Shard 0 -ShardCount 1 | Measure-Fssd -ResultPath (a fresh results file)
      restart    the same over the finished results file: every file passed over
      2 workers  shards 0 and 1 of 2 at once, each its own process with -Threads 1 and its own results file
      listing    Get-FssdShard over the folder (files/s), beside Get-ChildItem -Recurse -File
      merge      Join-FssdResult of the two shards' files against the folder (rows/s)
      start      pwsh, Import-Module, Import-FssdDetector of the one-file detector (seconds)
    The load average of the machine before and after is printed: other work on it slows every figure.
.EXAMPLE
    dotnet pwsh ./bench/Measure-FssdScale.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-bench-scale'),
    [int] $Repeat = 3,
    [int] $Threads = [Environment]::ProcessorCount
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module $ModulePath
$photos = Join-Path $WorkPath 'photos'
$marker = Join-Path $WorkPath '.complete'
if (-not (Test-Path $marker)) {
    Remove-Item -Recurse -Force $WorkPath -ErrorAction SilentlyContinue
    Export-FssdDataset -Dataset FashionMNIST/test -Path $photos | Out-Null
    Set-Content $marker 'ok'
}
$detector = Join-Path $WorkPath 'fleet.fssd.yaml'
Import-FssdDetector | Export-FssdDetector -Path $detector -EmbedWeights -Force | Out-Null
$count = @(Get-ChildItem -LiteralPath $photos -Recurse -File).Count

function Get-Load { if ($IsLinux) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' } else { 'n/a' } }

function Invoke-Runs([string[]] $Bodies) {
    # Starts the bodies at once as fresh processes, waits for all, returns each one's last output line (a number), in order.
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $runs = foreach ($body in $Bodies) {
        $script = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'`n$body"
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $out = Join-Path $WorkPath "run-$([guid]::NewGuid().ToString('N')).out"
        $process = Start-Process -FilePath $exe -ArgumentList ($prefix + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)) `
            -RedirectStandardOutput $out -RedirectStandardError "$out.err" -PassThru -NoNewWindow
        [pscustomobject]@{ Process = $process; Out = $out }
    }
    $runs.Process | Wait-Process
    foreach ($run in $runs) {
        $last = Get-Content -LiteralPath $run.Out | Select-Object -Last 1
        if ($run.Process.ExitCode -ne 0 -or -not $last) { throw "A run failed: $(Get-Content -LiteralPath "$($run.Out).err" -Raw)" }
        [double]$last
        Remove-Item -LiteralPath $run.Out, "$($run.Out).err"
    }
}

function Get-Median([double[]] $Values) { $s = $Values | Sort-Object; $s[[int][Math]::Floor(($s.Count - 1) / 2)] }

$import = "Import-Module '$ModulePath'; Set-FssdContext -Threads {0} | Out-Null; `$d = Import-FssdDetector '$detector'"
# Warm: the first scoring of a process pays for native set-up, not per image.
$warm = "`$null = Get-ChildItem -LiteralPath '$photos' -Recurse -File | Select-Object -First 256 | Measure-Fssd -Detector `$d"
$lines = [Collections.Generic.List[string]]::new()
$lines.Add("Load average before: $(Get-Load); $count files; $Threads thread(s) per single worker; median of $Repeat")

$rates = foreach ($r in 1..$Repeat) {
    Invoke-Runs @(($import -f $Threads) + "`n$warm`n" + @"
`$files = Get-ChildItem -LiteralPath '$photos' -Recurse -File
`$clock = [Diagnostics.Stopwatch]::StartNew(); `$n = 0
`$files | Measure-Fssd -Detector `$d | ForEach-Object { `$n++ }
`$n / `$clock.Elapsed.TotalSeconds
"@)
}
$lines.Add(("pipeline (objects):          {0,8:N0} images/s" -f (Get-Median $rates)))

# For scale: the same files at eps 0 (one forward pass a batch, all four taps), the lightest FSSD there is.
$light = foreach ($r in 1..$Repeat) {
    Invoke-Runs @(@"
Import-Module '$ModulePath'; Set-FssdContext -Threads $Threads | Out-Null
`$m = Import-FssdModel; `$c = New-FssdCenter -Model `$m
`$files = Get-ChildItem -LiteralPath '$photos' -Recurse -File
`$null = `$files | Select-Object -First 256 | Measure-Fssd -Model `$m -Center `$c
`$clock = [Diagnostics.Stopwatch]::StartNew(); `$n = 0
`$files | Measure-Fssd -Model `$m -Center `$c | ForEach-Object { `$n++ }
`$n / `$clock.Elapsed.TotalSeconds
"@)
}
$lines.Add(("  (eps 0, one forward pass:  {0,8:N0} images/s)" -f (Get-Median $light)))

$csvRates = [Collections.Generic.List[double]]::new(); $restartRates = [Collections.Generic.List[double]]::new()
foreach ($r in 1..$Repeat) {
    $csv = Join-Path $WorkPath "shard-0-of-1-$r.csv"
    Remove-Item -LiteralPath $csv -ErrorAction SilentlyContinue
    $body = ($import -f $Threads) + "`n$warm`n" + @"
`$clock = [Diagnostics.Stopwatch]::StartNew()
Get-FssdShard -LiteralPath '$photos' -Shard 0 -ShardCount 1 -Root '$photos' | Measure-Fssd -Detector `$d -ShardRoot '$photos' -ResultPath '$csv'
$count / `$clock.Elapsed.TotalSeconds
"@
    $csvRates.Add((Invoke-Runs @($body)))
    $restartRates.Add((Invoke-Runs @($body)))
}
$lines.Add(("shard 0 of 1 (results file): {0,8:N0} images/s" -f (Get-Median $csvRates)))
$lines.Add(("restart over a finished one: {0,8:N0} files/s passed over" -f (Get-Median $restartRates)))

$pairRates = foreach ($r in 1..$Repeat) {
    $bodies = foreach ($k in 0..1) {
        $csv = Join-Path $WorkPath "shard-$k-of-2.csv"
        Remove-Item -LiteralPath $csv -ErrorAction SilentlyContinue
        ($import -f 1) + "`n$warm`n" + @"
`$clock = [Diagnostics.Stopwatch]::StartNew()
Get-FssdShard -LiteralPath '$photos' -Shard $k -ShardCount 2 -Root '$photos' | Measure-Fssd -Detector `$d -ShardRoot '$photos' -ResultPath '$csv'
`$clock.Elapsed.TotalSeconds
"@
    }
    $seconds = Invoke-Runs $bodies
    $count / ($seconds | Measure-Object -Maximum).Maximum
}
$lines.Add(("2 workers x 1 thread, shards: {0,8:N0} images/s together (until the slower one ends)" -f (Get-Median $pairRates)))

$listing = foreach ($r in 1..$Repeat) {
    Invoke-Runs @("Import-Module '$ModulePath'; `$c = [Diagnostics.Stopwatch]::StartNew(); `$n = @(Get-FssdShard -LiteralPath '$photos' -Shard 0 -ShardCount 1 -Root '$photos').Count; `$n / `$c.Elapsed.TotalSeconds")
}
$gci = foreach ($r in 1..$Repeat) {
    Invoke-Runs @("`$c = [Diagnostics.Stopwatch]::StartNew(); `$n = @(Get-ChildItem -LiteralPath '$photos' -Recurse -File).Count; `$n / `$c.Elapsed.TotalSeconds")
}
$lines.Add(("listing, Get-FssdShard:      {0,8:N0} files/s (Get-ChildItem -Recurse -File: {1:N0} files/s)" -f (Get-Median $listing), (Get-Median $gci)))

$merge = foreach ($r in 1..$Repeat) {
    Invoke-Runs @("Import-Module '$ModulePath'; `$c = [Diagnostics.Stopwatch]::StartNew(); `$m = Join-FssdResult '$WorkPath/shard-*-of-2.csv' -Expected '$photos' -Root '$photos'; if (-not `$m.IsComplete) { throw 'incomplete' }; `$m.Rows.Count / `$c.Elapsed.TotalSeconds")
}
$lines.Add(("merge, Join-FssdResult:      {0,8:N0} rows/s (2 files, checked against the folder)" -f (Get-Median $merge)))

$start = foreach ($r in 1..$Repeat) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $null = Invoke-Runs @("Import-Module '$ModulePath'; `$d = Import-FssdDetector '$detector'; 0")
    $clock.Elapsed.TotalSeconds
}
$lines.Add(("worker start:                {0,8:F1} s (pwsh, Import-Module, Import-FssdDetector of the {1:N1} MB one-file detector)" -f (Get-Median $start), ((Get-Item $detector).Length / 1e6)))
$lines.Add("Load average after: $(Get-Load)")
$lines
