<#
.SYNOPSIS
    FSSD-Ensem speed, side by side: the module from PNG files against the authors' per-tap pipeline in
    PyTorch from memory, on the same 20,000 files, the same detector, in one run.
.DESCRIPTION
    Writes FashionMNIST's 10,000 test images and MNIST's 10,000 digits as PNG files once (into
    -WorkPath), then, -Runs times and alternating:
      - module, per tap:  Get-Content files | Measure-Fssd -Detector D   (a fresh pwsh process each run:
                          decoding, scoring and the pipeline's objects, end to end);
      - authors (PyTorch): bench/authors_pipeline.py, the same detector's weights, center, eps, step and
                          regression, images already in memory, each tap its own step, every pass stopping
                          at its tap as the authors' intermediate_forward does; once as installed
                          and once with glibc's malloc told to keep large blocks (GLIBC_TUNABLES), which
                          gives PyTorch what the module's block cache gives the module; and once with
                          every pass running the whole network (--forward Full: more work than the authors'
                          code, shown only beside the faithful figure);
      - module, shared:   the same with a detector of the same protocol calibrated with one shared step
                          (-PerturbationScope Shared; made once and kept in -WorkPath);
      - compute floor:    right after each module run, in a fresh process, the same detector's scorer at its
                          own eps (forward, backward, forward per tap) on tensors in memory — what end to end
                          would reach if files cost nothing; each run's end to end is divided by its own floor,
                          since this VM's speed drifts by 10-30% within minutes;
    and once each, in a fresh process, the module's parts measured alone:
      - decode:           the files decoded on Measure-Fssd's worker threads, nothing scored;
      - forward only:     the detector's scorer at eps 0 on normalized tensors already in memory.
    Prints the median images per second of each, the ratio module / authors (of the medians, and within
    each run), end to end / floor, and
    the largest relative difference between the two sides' per-tap scores and decisions for the same
    files. -Sweep adds the compute floor at several batch sizes and thread counts; -Memory the peak
    resident memory of whole runs over 10,000 and 100,000 files (the 20,000 repeated); -Training one
    training epoch of LeNet on FashionMNIST, the module against bench/train_epoch.py. Python needs
    Debian's python3-torch, python3-yaml and python3-pil with OpenBLAS (libopenblas0-pthread); the
    script installs what is missing when it runs as root.
.EXAMPLE
    dotnet pwsh ./bench/Compare-FssdSpeed.ps1
.EXAMPLE
    dotnet pwsh ./bench/Compare-FssdSpeed.ps1 -Runs 5 -Sweep -Memory
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $Detector = (Join-Path $PSScriptRoot '../module/models/fashion-mnist-lenet.paper.fssd.yaml'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-bench-png'),
    [int] $Runs = 3,
    [int] $BatchSize = 128,
    [int] $Count = 20000,
    [string] $Python = '/usr/bin/python3',
    # The same protocol as -Detector's, calibrated with one shared step (made once, kept in -WorkPath).
    [string] $SharedDetector = (Join-Path $WorkPath 'fashion-mnist-lenet.paper.shared.fssd.yaml'),
    # Also time the compute floor at these batch sizes and thread counts (how the defaults were chosen).
    [switch] $Sweep,
    # Also measure peak memory over 10,000 and 100,000 files (the shared-step detector, fresh processes).
    [switch] $Memory,
    # Also time one training epoch of LeNet on FashionMNIST, module against PyTorch.
    [switch] $Training,
    # The number format of the module's scoring passes (Measure-Fssd -Precision; the compute floor's scorer alike).
    [ValidateSet('Float32', 'BFloat16')]
    [string] $Precision = 'Float32',
    [int[]] $SweepBatch = @(32, 64, 128, 256, 512),
    [int[]] $SweepThreads = @(1, 2)
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$Detector = (Resolve-Path $Detector).Path
Import-Module $ModulePath

# Python's side: Debian's packages, OpenBLAS as the BLAS.
& $Python -c 'import torch, yaml, PIL' 2>$null
if ($LASTEXITCODE -ne 0 -or -not (Test-Path /usr/lib/x86_64-linux-gnu/openblas-pthread)) {
    if ((id -u) -ne '0') { throw "Install python3-torch, python3-yaml, python3-pil and libopenblas0-pthread (as root) first." }
    apt-get install -y --no-install-recommends python3-torch python3-yaml python3-pil libopenblas0-pthread | Out-Null
}

$marker = Join-Path $WorkPath '.complete'
if (-not (Test-Path $marker)) {
    Remove-Item -Recurse -Force $WorkPath -ErrorAction SilentlyContinue
    Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $WorkPath 'fashion')
    Export-FssdDataset -Dataset MNIST -Path (Join-Path $WorkPath 'mnist')
    Set-Content $marker 'ok'
}
$files = @(Get-ChildItem -LiteralPath $WorkPath -Recurse -Filter *.png | Sort-Object FullName | Select-Object -First $Count | ForEach-Object FullName)
$list = Join-Path $WorkPath "files-$Count.txt"
Set-Content -LiteralPath $list -Value $files
$scratch = Join-Path $WorkPath 'compare'
New-Item -ItemType Directory -Force $scratch | Out-Null
if (-not (Test-Path $SharedDetector)) {
    # The shipped paper-protocol detector's recipe (build/New-DefaultModel.ps1) with -PerturbationScope Shared.
    $paper = Import-FssdDetector -Path $Detector
    $shared = New-FssdDetector -Model $paper.Model -Center $paper.Center -InDistribution (Get-FssdDataset FashionMNIST -Split test -First 1000) `
        -OutOfDistribution (Get-FssdSample MNIST -Skip 1000 -First 1000) -Perturbation $paper.Perturbation -PerturbationScope Shared `
        -Name "$($paper.Name)-shared" -ValidationSource 'FashionMNIST test images 0-999 and MNIST digits 1000-1999 (the paper''s protocol)'
    $shared | Export-FssdDetector -Path $SharedDetector -Force | Out-Null
}
$SharedDetector = (Resolve-Path $SharedDetector).Path

function Invoke-Pwsh([string] $Script) {
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    $out = & $exe @prefix -NoProfile -NonInteractive -EncodedCommand $encoded
    if ($LASTEXITCODE -ne 0) { throw "A benchmark process failed: $($out -join [Environment]::NewLine)" }
    ($out | Select-Object -Last 1) | ConvertFrom-Json
}

function Invoke-Module([string] $ScoresPath, [string] $Detector = $Detector, [string] $List = $list) {
    Invoke-Pwsh @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
# The standardized-step copy is this script's own edit of the detector file, so its seal no longer matches.
`$detector = Import-FssdDetector -Path '$Detector' -SkipIntegrityCheck:`$$([bool]($Detector -like '*.standardized.*')) 3>`$null
`$null = Get-Content -LiteralPath '$List' -TotalCount 256 | Measure-Fssd -Detector `$detector -BatchSize $BatchSize -Precision $Precision
# The paths stream from the list as a listing would; the process keeps none of them.
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$scores = if ('$ScoresPath') { [IO.File]::ReadLines('$List') | Measure-Fssd -Detector `$detector -BatchSize $BatchSize -Precision $Precision } else { `$n = 0; [IO.File]::ReadLines('$List') | Measure-Fssd -Detector `$detector -BatchSize $BatchSize -Precision $Precision | ForEach-Object { `$n++ }; `$n }
`$seconds = `$clock.Elapsed.TotalSeconds
if ('$ScoresPath') {
    `$names = @(`$scores[0].LayerScores.Keys)
    `$lines = [Collections.Generic.List[string]]::new()
    `$lines.Add('path,' + (`$names -join ',') + ',decision')
    foreach (`$s in `$scores) { `$lines.Add(`$s.FullName + ',' + ((`$names | ForEach-Object { `$s.LayerScores[`$_].ToString('R') }) -join ',') + ',' + `$s.Score.ToString('R')) }
    [IO.File]::WriteAllLines('$ScoresPath', `$lines)
}
`$process = [Diagnostics.Process]::GetCurrentProcess(); `$process.Refresh()
@{ images = `$(if ('$ScoresPath') { `$scores.Count } else { `$scores }); seconds = `$seconds; peak = `$process.PeakWorkingSet64 } | ConvertTo-Json -Compress
"@
}

function Invoke-Parts([string] $Detector = $Detector, [int] $Batch = $BatchSize, [int] $Threads = 0, [switch] $ComputeOnly) {
    Invoke-Pwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
if ($Threads -gt 0) { Set-FssdContext -Threads $Threads }
`$null = Get-FssdContext
# The engine lives in the module's own load context: reach its types through the loaded assembly.
`$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Fssd.Engine' } | Select-Object -First 1
# The harness (bench/ScoringSpeed.cs) is compiled against that engine and loaded beside it.
`$lib = Split-Path -Parent `$engine.Location
`$harness = Join-Path ([IO.Path]::GetTempPath()) "fssd-scoring-speed-`$PID.dll"
`$references = @('Fssd.Engine.dll', 'TorchSharp.dll') | ForEach-Object { Join-Path `$lib `$_ }
`$references += [Fssd.FssdDetector].Assembly.Location, 'System.Linq', 'System.Collections', 'System.Threading', 'System.Runtime'
Add-Type -Path '$PSScriptRoot/ScoringSpeed.cs' -ReferencedAssemblies `$references -OutputAssembly `$harness -OutputType Library -IgnoreWarnings 3>`$null
`$speed = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$engine).LoadFromAssemblyPath(`$harness).GetType('Fssd.Bench.ScoringSpeed', `$true)
`$session = `$engine.GetType('Fssd.Engine.Runtime.FssdSession', `$true)::Current
`$loaded = `$engine.GetType('Fssd.Engine.Persistence.DetectorLoader', `$true)::Load('$Detector', `$session.Models, `$session.Device)
`$detector = `$loaded.Item1
`$scorer = `$engine.GetType('Fssd.Engine.Scoring.EnsembleScorer', `$true)::ForDetector(`$detector, `$loaded.Item2, [Fssd.FssdPrecision]::$Precision)
`$none = [Threading.CancellationToken]::None
`$files = [string[]](Get-Content -LiteralPath '$list')
`$decoded = `$speed::Decode(`$files, `$loaded.Item2[0].Info.InputSpec, `$none)
`$weights = `$null
if (`$detector.PerturbationScope -eq 'Shared') { `$weights = [double[]]`$detector.StepWeights }
`$figures = @(
    if (-not `$$ComputeOnly) {
        `$decoded.Item2
        `$speed::Compute(`$scorer, `$decoded.Item1, $Batch, 0, `$detector.Perturbation, `$null, 'forward only', `$none)
    }
    `$speed::Compute(`$scorer, `$decoded.Item1, $Batch, `$detector.Epsilon, `$detector.Perturbation, `$weights, 'compute floor', `$none)
)
`$figures | ForEach-Object { @{ stage = `$_.Stage; images = `$_.Images; seconds = `$_.Seconds } } | ConvertTo-Json -Compress
"@
}

# glibc settings under which PyTorch's large tensors are not faulted in again every batch (no mmap for
# big blocks, no trimming). The module gets the same effect from its block cache; giving PyTorch the
# same advantage keeps the comparison fair. Python runs its model on the main thread, where these
# settings are enough (measured: 1.48 million minor faults -> 91,000 for 40 batches).
$tunedAllocator = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736'

function Invoke-Authors([string] $ScoresPath, [string] $Detector = $Detector, [switch] $Tuned, [ValidateSet('Tap', 'Full')] [string] $Forward = 'Tap') {
    [string[]] $extra = @('--forward', $Forward) + $(if ($ScoresPath) { @('--scores', $ScoresPath) } else { @() })
    $saved = $env:GLIBC_TUNABLES
    try {
        if ($Tuned) { $env:GLIBC_TUNABLES = $tunedAllocator }
        $out = & $Python (Join-Path $PSScriptRoot 'authors_pipeline.py') $Detector $list --batch $BatchSize --threads ([Environment]::ProcessorCount) @extra
    }
    finally { $env:GLIBC_TUNABLES = $saved }
    if ($LASTEXITCODE -ne 0) { throw "authors_pipeline.py failed: $out" }
    ($out | Select-Object -Last 1) | ConvertFrom-Json
}

function Get-Median([double[]] $Values) {
    $sorted = $Values | Sort-Object
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

$d = Import-FssdDetector -Path $Detector
$context = Get-FssdContext
$cpu = (Get-Content /proc/cpuinfo -ErrorAction SilentlyContinue | Select-String 'model name' | Select-Object -First 1).Line -replace '^model name\s*:\s*', ''
Write-Host ("{0:yyyy-MM-dd HH:mm}, {1} cores ({2}), libtorch {3} with {4} threads; PyTorch {5}; batch {6}; {7} files" -f (Get-Date), [Environment]::ProcessorCount,
    $cpu, $context.TorchVersion, $context.Threads, (& $Python -c 'import torch; print(torch.__version__)'), $BatchSize, $files.Count)
Write-Host ("Detector {0}: {1} layer(s) ({2}), eps {3}, {4} step; the module's passes in {5} (instruction sets: {6})" -f (Split-Path -Leaf $Detector), $d.Layers.Count, (($d.Layers | ForEach-Object Name) -join ', '), $d.Epsilon, $d.Perturbation, $Precision, ($context.InstructionSets -join ', '))

$module = [Collections.Generic.List[double]]::new()
$moduleShared = [Collections.Generic.List[double]]::new()
$authors = [Collections.Generic.List[double]]::new()
$authorsTuned = [Collections.Generic.List[double]]::new()
$authorsFull = [Collections.Generic.List[double]]::new()
$peak = 0
# Each end-to-end run is followed at once by the same pipeline's compute floor, so that end to end /
# floor compares figures taken minutes apart at most: this VM's speed drifts by 10-30% within minutes.
$floors = [Collections.Generic.List[double]]::new()
$sharedFloors = [Collections.Generic.List[double]]::new()
$ratios = [Collections.Generic.List[double]]::new()
$sharedRatios = [Collections.Generic.List[double]]::new()
function Floor-Rate([string] $Detector) {
    $figure = @(Invoke-Parts -Detector $Detector -ComputeOnly) | Where-Object stage -eq 'compute floor'
    $figure.images / $figure.seconds
}
for ($r = 1; $r -le $Runs; $r++) {
    $last = $r -eq $Runs
    $m = Invoke-Module ($(if ($last) { Join-Path $scratch 'module.csv' } else { '' }))
    $module.Add($m.images / $m.seconds)
    $peak = [math]::Max($peak, $m.peak)
    $floors.Add((Floor-Rate $Detector))
    $a = Invoke-Authors ($(if ($last) { Join-Path $scratch 'authors.csv' } else { '' }))
    $authors.Add($a.per_second)
    $ms = Invoke-Module '' $SharedDetector
    $moduleShared.Add($ms.images / $ms.seconds)
    $sharedFloors.Add((Floor-Rate $SharedDetector))
    $at = Invoke-Authors '' -Tuned
    $authorsTuned.Add($at.per_second)
    $authorsFull.Add((Invoke-Authors '' -Forward Full).per_second)
    $ratios.Add($module[-1] / $authors[-1])
    $sharedRatios.Add($moduleShared[-1] / $authors[-1])
    Write-Host ("run {0}: module per tap {1:F0}/s ({2:F1} s; floor {3:F0}/s, {4:F2}x of it), module shared {5:F0}/s ({6:F1} s; floor {7:F0}/s, {8:F2}x), authors per tap {9:F0}/s ({10:F1} s), with glibc tuned {11:F0}/s ({12:F1} s); this run's ratios to the authors: per tap {13:F2}x, shared {14:F2}x" -f
        $r, $module[-1], $m.seconds, $floors[-1], ($module[-1] / $floors[-1]), $moduleShared[-1], $ms.seconds, $sharedFloors[-1], ($moduleShared[-1] / $sharedFloors[-1]),
        $authors[-1], $a.seconds, $authorsTuned[-1], $at.seconds, $ratios[-1], $sharedRatios[-1])
}
# Decoding alone and the forward pass alone, once (their compute floor figure is not used: the per-run floors are).
$parts = @(Invoke-Parts)

# Same files, same detector: the two sides' scores must agree.
function Compare-Scores([string] $OursPath, [string] $TheirsPath) {
    $ours = Import-Csv $OursPath
    $theirs = Import-Csv $TheirsPath
    if ($ours.Count -ne $theirs.Count) { throw "The module scored $($ours.Count) files, the reference $($theirs.Count)." }
    $columns = @($theirs[0].PSObject.Properties.Name | Where-Object { $_ -ne 'path' })
    $worst = [ordered]@{}
    $above = [ordered]@{}
    foreach ($c in $columns) { $worst[$c] = 0.0; $above[$c] = 0 }
    for ($i = 0; $i -lt $ours.Count; $i++) {
        if ($ours[$i].path -ne $theirs[$i].path) { throw "Row $i is '$($ours[$i].path)' in the module's scores, '$($theirs[$i].path)' in the reference's." }
        foreach ($c in $columns) {
            $x = [double]$ours[$i].$c; $y = [double]$theirs[$i].$c
            # Relative to the reference's value; decisions near 0 are compared against 1 instead.
            $rel = [math]::Abs($x - $y) / [math]::Max([math]::Abs($y), $(if ($c -eq 'decision') { 1.0 } else { 1e-12 }))
            if ($rel -gt $worst[$c]) { $worst[$c] = $rel }
            if ($rel -gt 1e-4) { $above[$c]++ }
        }
    }
    '{0} files; largest relative difference {1}; files above 1e-4: {2}' -f $ours.Count,
        (($worst.GetEnumerator() | ForEach-Object { '{0} {1:E2}' -f $_.Key, $_.Value }) -join ', '),
        (($above.GetEnumerator() | ForEach-Object { '{0} {1}' -f $_.Key, $_.Value }) -join ', ')
}
$agreement = Compare-Scores (Join-Path $scratch 'module.csv') (Join-Path $scratch 'authors.csv')
# The sign of a gradient component near 0 can come out differently in two implementations, and a file
# with such a pixel then steps differently; the authors' standardized step has no such edge. So the same
# detector with that step is compared as well (same weights, center, eps and regression).
$standardized = Join-Path $WorkPath 'detector.standardized.fssd.yaml'
$weights = Join-Path (Split-Path -Parent $Detector) ((Get-Content -LiteralPath $Detector | Select-String '^\s+weights:\s*(\S+)' | Select-Object -First 1).Matches[0].Groups[1].Value)
(Get-Content -LiteralPath $Detector) -replace '^perturbation: \w+$', 'perturbation: Standardized' -replace '^(\s+weights:\s*)\S+$', "`${1}$weights" |
    Set-Content -LiteralPath $standardized
$null = Invoke-Module (Join-Path $scratch 'module.standardized.csv') $standardized
$null = Invoke-Authors (Join-Path $scratch 'authors.standardized.csv') $standardized
$agreementStandardized = Compare-Scores (Join-Path $scratch 'module.standardized.csv') (Join-Path $scratch 'authors.standardized.csv')

$moduleRate = Get-Median $module.ToArray()
$sharedRate = Get-Median $moduleShared.ToArray()
$authorsRate = Get-Median $authors.ToArray()
$authorsTunedRate = Get-Median $authorsTuned.ToArray()
$authorsFullRate = Get-Median $authorsFull.ToArray()
function Rate($figure) { $figure.images / $figure.seconds }
$floorRate = Get-Median $floors.ToArray()
$sharedFloorRate = Get-Median $sharedFloors.ToArray()
function Versus([double] $rate) { '{0:F2}x' -f ($rate / $authorsRate) }
function VersusTuned([double] $rate) { '{0:F2}x' -f ($rate / $authorsTunedRate) }
$figures = @(
    [pscustomobject]@{ Pipeline = 'Module, per tap, from PNG files (end to end)'; ImagesPerSecond = [math]::Round($moduleRate); VsAuthors = Versus $moduleRate; VsAuthorsTuned = VersusTuned $moduleRate }
    [pscustomobject]@{ Pipeline = 'Module, shared step, from PNG files (end to end)'; ImagesPerSecond = [math]::Round($sharedRate); VsAuthors = Versus $sharedRate; VsAuthorsTuned = VersusTuned $sharedRate }
    [pscustomobject]@{ Pipeline = 'Authors (PyTorch), per tap, from memory'; ImagesPerSecond = [math]::Round($authorsRate); VsAuthors = '1.00x'; VsAuthorsTuned = VersusTuned $authorsRate }
    [pscustomobject]@{ Pipeline = 'Authors (PyTorch), per tap, from memory, glibc tuned'; ImagesPerSecond = [math]::Round($authorsTunedRate); VsAuthors = Versus $authorsTunedRate; VsAuthorsTuned = '1.00x' }
    [pscustomobject]@{ Pipeline = 'Authors'' algorithm with every pass through the whole network (not theirs; for comparison)'; ImagesPerSecond = [math]::Round($authorsFullRate); VsAuthors = Versus $authorsFullRate; VsAuthorsTuned = VersusTuned $authorsFullRate }
    [pscustomobject]@{ Pipeline = 'Module, per tap, compute floor (in memory)'; ImagesPerSecond = [math]::Round($floorRate); VsAuthors = Versus $floorRate; VsAuthorsTuned = VersusTuned $floorRate }
    [pscustomobject]@{ Pipeline = 'Module, shared step, compute floor (in memory)'; ImagesPerSecond = [math]::Round($sharedFloorRate); VsAuthors = Versus $sharedFloorRate; VsAuthorsTuned = VersusTuned $sharedFloorRate }
    [pscustomobject]@{ Pipeline = 'Module, forward only (eps 0, in memory)'; ImagesPerSecond = [math]::Round((Rate ($parts | Where-Object stage -eq 'forward only'))); VsAuthors = ''; VsAuthorsTuned = '' }
    [pscustomobject]@{ Pipeline = 'Module, decoding PNG files only'; ImagesPerSecond = [math]::Round((Rate ($parts | Where-Object stage -eq 'decode'))); VsAuthors = ''; VsAuthorsTuned = '' }
)
$figures | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
$n = $files.Count
$forwardSeconds = ($parts | Where-Object stage -eq 'forward only').seconds
Write-Host ("Time split for {0} files (medians): decoding {1:F1} s (on worker threads, alone); one forward pass {2:F1} s; shared step: compute {3:F1} s, so its backward pass about {4:F1} s (compute - 2 forward), end to end {5:F1} s; per tap: compute {6:F1} s, end to end {7:F1} s." -f
    $n, ($parts | Where-Object stage -eq 'decode').seconds, $forwardSeconds, ($n / $sharedFloorRate), ($n / $sharedFloorRate - 2 * $forwardSeconds), ($n / $sharedRate),
    ($n / $floorRate), ($n / $moduleRate))
Write-Host ("Module's block cache: {0}." -f $context.BlockCache)
function Span([double[]] $Values) { '{0:F2}x (runs {1})' -f (Get-Median $Values), (($Values | ForEach-Object { '{0:F2}' -f $_ }) -join ', ') }
$floorRatios = @(for ($i = 0; $i -lt $Runs; $i++) { $module[$i] / $floors[$i] })
$sharedFloorRatios = @(for ($i = 0; $i -lt $Runs; $i++) { $moduleShared[$i] / $sharedFloors[$i] })
Write-Host ("Median of {0} run(s). End to end / compute floor, each run against its own floor: per tap {1}, shared {2}. Module / authors within each run: per tap {3}, shared {4}. Peak memory of a per-tap module run: {5:F0} MiB." -f
    $Runs, (Span $floorRatios), (Span $sharedFloorRatios), (Span $ratios.ToArray()), (Span $sharedRatios.ToArray()), ($peak / 1MB))
Write-Host "Scores, module vs reference, the detector's sign step: $agreement"
Write-Host "Scores, module vs reference, the same detector with the authors' standardized step: $agreementStandardized"
if ($Memory) {
    # Peak resident memory of a whole Measure-Fssd run over 10,000 and over 100,000 paths (the 20,000 files repeated).
    $peaks = foreach ($total in 10000, 100000) {
        $repeated = Join-Path $WorkPath "files-repeated-$total.txt"
        Set-Content -LiteralPath $repeated -Value (0..($total - 1) | ForEach-Object { $files[$_ % $files.Count] })
        $run = Invoke-Module '' $SharedDetector $repeated
        [pscustomobject]@{ Files = $run.images; Seconds = [math]::Round($run.seconds, 1); ImagesPerSecond = [math]::Round($run.images / $run.seconds); PeakMiB = [math]::Round($run.peak / 1MB) }
    }
    $peaks | Format-Table -AutoSize | Out-Host
    Write-Host ("Peak memory, 100,000 files / 10,000 files: {0:F3}" -f ($peaks[1].PeakMiB / $peaks[0].PeakMiB))
}
if ($Training) {
    # One epoch of LeNet on FashionMNIST, the default model's recipe, each side in a fresh process, alternating.
    $ours = [Collections.Generic.List[double]]::new()
    $theirs = [Collections.Generic.List[double]]::new()
    for ($r = 1; $r -le $Runs; $r++) {
        $epoch = Invoke-Pwsh @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
`$out = Join-Path ([IO.Path]::GetTempPath()) 'fssd-bench-epoch'
`$model = New-FssdClassifier LeNet -TrainingSet FashionMNIST/train -ValidationSet FashionMNIST/test -OutputPath `$out -Name bench-epoch -Epochs 1 -Force
`$e = `$model.Training.Epochs[0]
@{ seconds = `$e.Seconds; accuracy = `$e.Accuracy } | ConvertTo-Json -Compress
"@
        $ours.Add($epoch.seconds)
        $py = & $Python (Join-Path $PSScriptRoot 'train_epoch.py') --threads ([Environment]::ProcessorCount) | Select-Object -Last 1 | ConvertFrom-Json
        $theirs.Add($py.seconds)
        Write-Host ("training run {0}: module {1:F1} s (accuracy {2:P2}), PyTorch {3} {4:F1} s (accuracy {5:P2})" -f $r, $epoch.seconds, $epoch.accuracy, $py.torch, $py.seconds, $py.accuracy)
    }
    Write-Host ("One LeNet epoch on FashionMNIST (60,000 images, batch 64, Adadelta, then the 10,000 test images), median of {0}: module {1:F1} s, PyTorch {2:F1} s (module / PyTorch time {3:F2})." -f
        $Runs, (Get-Median $ours.ToArray()), (Get-Median $theirs.ToArray()), ((Get-Median $ours.ToArray()) / (Get-Median $theirs.ToArray())))
}
if ($Sweep) {
    $rows = foreach ($t in $SweepThreads) {
        foreach ($b in $SweepBatch) {
            $pt = Invoke-Parts -Batch $b -Threads $t -ComputeOnly
            $sh = Invoke-Parts -Detector $SharedDetector -Batch $b -Threads $t -ComputeOnly
            [pscustomobject]@{ Threads = $t; Batch = $b; PerTapFloor = [math]::Round((Rate $pt[0])); SharedFloor = [math]::Round((Rate $sh[0])) }
        }
    }
    Write-Host 'Compute floor (images/s) by thread count and batch size:'
    $rows | Format-Table -AutoSize | Out-Host
}
