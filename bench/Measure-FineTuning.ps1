<#
.SYNOPSIS
    How long New-FssdClassifier -InitialModel takes on a few hundred photos with the pretrained ResNet18: a new
    head alone, and a new head with the last stage (-TrainLastStage); prints seconds, images per second and
    the held-out accuracy.
.DESCRIPTION
    Uses the photo benchmark's image sets (bench/Invoke-PhotoBenchmark.ps1 provisions them; run it with
    -ProvisionOnly first): every animal photo, every other object photo and every drawing, as three class
    folders (JPEGs of at most 256 pixels a side; the newest sets under -CachePath are used, and named). -ValidationFraction 0.1 of them is held out (seeded).
    Each variant runs -Runs times in this process after the model is imported; the median is printed.
.EXAMPLE
    dotnet pwsh ./bench/Measure-FineTuning.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $CachePath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-bench'),
    [int] $Runs = 2
)
$ErrorActionPreference = 'Stop'

# The newest provisioned sets (the photo benchmark names each by its sources and rule).
$setsFile = Get-ChildItem $CachePath -Filter sets.json -Recurse -ErrorAction SilentlyContinue | Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 1
if (-not $setsFile) { throw "No photo sets under '$CachePath'; run bench/Invoke-PhotoBenchmark.ps1 -ProvisionOnly first." }
$root = $setsFile.DirectoryName
$sets = Get-Content $setsFile.FullName -Raw | ConvertFrom-Json
$folder = Join-Path ([IO.Path]::GetTempPath()) "fssd-fine-tuning-$PID"
$out = Join-Path $folder 'models'
foreach ($class in 'Animals', 'Objects', 'Drawings') {
    $target = Join-Path $folder "classes/$($class.ToLowerInvariant())"
    New-Item -ItemType Directory -Force -Path $target | Out-Null
    $sets.$class | ForEach-Object { Copy-Item (Join-Path $root $_) $target }
}
$classes = Join-Path $folder 'classes'
$count = @(Get-ChildItem $classes -Recurse -File).Count
Write-Host "$count images in 3 class folders, from $($setsFile.FullName): animals $($sets.Animals.Count), objects $($sets.Objects.Count), drawings $($sets.Drawings.Count)"

Import-Module (Resolve-Path $ModulePath).Path
$model = Import-FssdModel -Pretrained ResNet18
function Median([double[]] $values) { $sorted = $values | Sort-Object; $sorted[[Math]::Floor(($sorted.Count - 1) / 2)] }
try {
    foreach ($variant in @(@{ Name = 'new head'; Stage = $false }, @{ Name = 'new head + last stage (10 epochs)'; Stage = $true })) {
        $seconds = @()
        $accuracy = $null
        for ($r = 0; $r -lt $Runs; $r++) {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ft = New-FssdClassifier -InitialModel $model -TrainingSet $classes -OutputPath $out -Name 'timed' -TrainLastStage:$variant.Stage -Force
            $seconds += $clock.Elapsed.TotalSeconds
            $accuracy = $ft.Training.Epochs[-1].Accuracy
            $null = Remove-FssdModel -Model $ft
        }
        $median = Median $seconds
        Write-Host ("{0}: {1:F1} s (runs: {2}), {3:F1} training images/s, held-out accuracy {4:P1} of {5}" -f $variant.Name, $median,
            (($seconds | ForEach-Object { '{0:F1}' -f $_ }) -join ', '), ($ft.Training.TrainingCount / $median), $accuracy, $ft.Training.ValidationCount)
    }
}
finally {
    Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
}
