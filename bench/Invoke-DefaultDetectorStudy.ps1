<#
.SYNOPSIS
    The shipped default detector against out-of-distribution kinds it was not designed on, beside detectors in
    the feature space of the same network fitted on FashionMNIST training images alone.
.DESCRIPTION
    In-distribution: 2,000 FashionMNIST test images. Out-of-distribution, every set 28 x 28 gray, white on
    black: Kana (the module's KMNIST-like set) and the seven design sets of bench/glyph_sets.py (Latin capitals,
    Latin small letters, Greek, Cyrillic, symbols, shapes, textures: no digits of any kind); MNIST last, once.
    Detectors (none sees OoD data):
      - the outlier-free FSSD-Ensem the module ships (-FssdDetector), and its taps;
      - the default detector (Measure-Fssd with no detector), and any -Detector files given;
      - Knn (k = 1) with New-FssdDetector's default layers for a model: fc1 and the texture of conv2 (each
        channel's spatial standard deviation), the least of the two, fitted on 10,000 FashionMNIST training
        images; each of its two layers alone;
      - FSSD + Knn: the mean of three standardised scores (the default's, Knn's fc1, Knn's conv2 texture),
        each standardised on 2,000 further FashionMNIST training images that no detector was fitted on.
    Prints AUROC per set (and the worst over the design sets, MNIST left out) and writes the table as
    Markdown to -MarkdownPath.
.EXAMPLE
    dotnet pwsh ./bench/Invoke-DefaultDetectorStudy.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-default-study'),
    [int] $Count = 1000,
    [string] $MarkdownPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-default-study.md'),
    # The FSSD-Ensem the study starts from (default: the module's outlier-free FSSD-Ensem without Knn layers).
    [string] $FssdDetector,
    # Further detector files to score beside the others, by row name.
    [hashtable] $Detector = @{}
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
Import-Module (Resolve-Path $ModulePath).Path

$designSets = 'latin-upper', 'latin-lower', 'greek', 'cyrillic', 'symbols', 'shapes', 'textures'
if (-not (Test-Path (Join-Path $WorkPath 'textures'))) {
    $python = if (Test-Path /usr/bin/python3) { '/usr/bin/python3' } else { 'python3' }
    & $python (Join-Path $PSScriptRoot 'glyph_sets.py') $WorkPath --count $Count
    if ($LASTEXITCODE -ne 0) { throw "glyph_sets.py failed ($LASTEXITCODE); it needs Python 3 with Pillow and the DejaVu fonts (fonts-dejavu-core)." }
}
foreach ($p in @(@('FashionMNIST/train', 'fashion-train', 12000), @('FashionMNIST/test', 'fashion', 2000), @('Kana/test', 'kana', $Count), @('MNIST/test', 'mnist', $Count))) {
    if (-not (Test-Path (Join-Path $WorkPath $p[1]))) { $null = Export-FssdDataset -Dataset $p[0] -Path (Join-Path $WorkPath $p[1]) -First $p[2] }
}
function Get-Files([string] $name) { @(Get-ChildItem (Join-Path $WorkPath $name) -Recurse -File -Filter *.png | Sort-Object FullName) }

$model = Import-FssdModel
if (-not $FssdDetector) { $FssdDetector = Join-Path (Split-Path (Get-Module Fssd).Path) 'models/fashion-mnist-lenet.outlier-free.fssd.yaml' }
$fssd = Import-FssdDetector -Path $FssdDetector
$extra = [ordered]@{}
foreach ($name in $Detector.Keys) { $extra[$name] = Import-FssdDetector -Path $Detector[$name] }
$train = Get-Files 'fashion-train'
$standardise = @(for ($i = 0; $i -lt $train.Count; $i += 6) { $train[$i] })
$fit = @(for ($i = 0; $i -lt $train.Count; $i++) { if ($i % 6) { $train[$i] } })
$clock = [Diagnostics.Stopwatch]::StartNew()
$knn = New-FssdDetector -Model $model -InDistribution $fit -Method Knn -Neighbors 1 3>$null
Write-Host "Knn fitted on $($fit.Count) training images in $([Math]::Round($clock.Elapsed.TotalSeconds, 1)) s: $knn"

function Get-Columns($files) {
    $d = @($files | Measure-Fssd -Detector $fssd)
    $k = @($files | Measure-Fssd -Detector $knn)
    $columns = [ordered]@{ 'FSSD-Ensem, outlier-free' = [double[]]@($d | ForEach-Object Score) }
    foreach ($tap in $d[0].LayerScores.Keys) { $columns["its FSSD at $tap"] = [double[]]@($d | ForEach-Object { $_.LayerScores[$tap] }) }
    $columns['Knn k 1, fc1 + conv2 texture (least)'] = [double[]]@($k | ForEach-Object Score)
    $columns['Knn k 1, fc1'] = [double[]]@($k | ForEach-Object { $_.LayerScores['fc1'] })
    $columns['Knn k 1, conv2 texture'] = [double[]]@($k | ForEach-Object { $_.LayerScores['conv2_std'] })
    $columns['the default detector (Measure-Fssd with no detector)'] = [double[]]@($files | Measure-Fssd | ForEach-Object Score)
    foreach ($name in $extra.Keys) { $columns[$name] = [double[]]@($files | Measure-Fssd -Detector $extra[$name] | ForEach-Object Score) }
    $columns
}
$reference = Get-Columns $standardise
$parts = 'FSSD-Ensem, outlier-free', 'Knn k 1, fc1', 'Knn k 1, conv2 texture'
$scale = @{}
foreach ($p in $parts) {
    $v = $reference[$p]; $mean = ($v | Measure-Object -Average).Average
    $scale[$p] = @($mean, [Math]::Sqrt((($v | ForEach-Object { ($_ - $mean) * ($_ - $mean) }) | Measure-Object -Sum).Sum / $v.Count))
}
function Add-Combined($columns) {
    $n = $columns[$parts[0]].Count
    $columns['FSSD + Knn (mean of 3 scores standardised on 2,000 training images)'] = [double[]]@(for ($i = 0; $i -lt $n; $i++) {
        (($parts | ForEach-Object { ($columns[$_][$i] - $scale[$_][0]) / $scale[$_][1] }) | Measure-Object -Sum).Sum / $parts.Count
    })
    $columns
}
$in = Add-Combined (Get-Columns (Get-Files 'fashion'))
$sets = @('kana') + $designSets + @('mnist')
$auroc = [ordered]@{}
foreach ($s in $sets) {
    $out = Add-Combined (Get-Columns (Get-Files $s))
    foreach ($method in $in.Keys) {
        if (-not $auroc.Contains($method)) { $auroc[$method] = [ordered]@{} }
        $auroc[$method][$s] = (Get-FssdMetrics -InDistribution $in[$method] -OutOfDistribution $out[$method] -Method $method).AUROC
    }
    Write-Host "$s scored."
}
$md = [Text.StringBuilder]::new()
[void]$md.AppendLine("| Method | $($sets -join ' | ') | worst without MNIST |")
[void]$md.AppendLine("|---|$(($sets | ForEach-Object { '---' }) -join '|')|---|")
foreach ($method in $auroc.Keys) {
    $values = @($sets | ForEach-Object { $auroc[$method][$_] })
    $worst = ($values[0..($values.Count - 2)] | Measure-Object -Minimum).Minimum
    [void]$md.AppendLine("| $method | $(($values | ForEach-Object { '{0:F3}' -f $_ }) -join ' | ') | $('{0:F3}' -f $worst) |")
}
Set-Content -Path $MarkdownPath -Value $md.ToString()
Write-Host "`n$($md.ToString())"
Write-Host "Markdown table: $MarkdownPath"
