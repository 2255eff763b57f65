<#
.SYNOPSIS
    Outlier-free FSSD-Ensem on photos: which pseudo-outlier kinds, if any, calibrate the pretrained ImageNet
    ResNet18's taps so that they separate a kind of photo from drawings and from other photos.
.DESCRIPTION
    Uses the photo benchmarks of bench/Invoke-PhotoBenchmark.ps1 (provisioned by it, same fixed splits:
    even positions fit, odd positions test). For every design — each pseudo-outlier kind the module has
    alone, the default mixture, and all kinds together — calibrates
        New-FssdDetector -Model $m -InDistribution $fit -OutlierFree -PseudoOutlier <kinds> -Epsilon 0 -Layer <taps>
    on the fit half of one benchmark (no OoD data), scores the test half and both OoD sets with
    Measure-Fssd -Detector, and prints AUROC against each, with the weights the regression gave each tap and
    the share of the real OoD inputs rejected at the detector's threshold.

    The design benchmark is -DesignBenchmark ('animals'); the other one checks the design chosen on it.
    Both are printed for every design so that the choice can be re-made from the table, but only the
    design benchmark's columns may choose.
.EXAMPLE
    dotnet pwsh ./bench/Invoke-PhotoOutlierFreeStudy.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $CachePath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-bench'),
    [ValidateSet('animals', 'objects')]
    [string] $DesignBenchmark = 'animals',
    # Taps to calibrate on: All (the model's taps), or Stages (the stage outputs, without the pooled feature,
    # which carries stage 4's spatial mean and so the same FSSD).
    [ValidateSet('All', 'Stages')]
    [string] $Taps = 'All',
    [string] $MarkdownPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-outlier-free.md')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3

# The photo sets, provisioned (or found in the cache) by the photo benchmark itself.
# It names the folder of the sets it found ("Photo sets <key>: ... (<folder>)"), the one this machine's packages make.
$line = & (Join-Path $PSScriptRoot 'Invoke-PhotoBenchmark.ps1') -ModulePath $ModulePath -CachePath $CachePath -ProvisionOnly 6>&1 |
    Where-Object { "$_" -match '^Photo sets' } | Select-Object -First 1
if ("$line" -notmatch '\((.+)\)$') { throw "The photo benchmark did not report its photo sets under '$CachePath'." }
$root = $Matches[1]
$sets = Get-Content (Join-Path $root 'sets.json') -Raw | ConvertFrom-Json
$full = { param([string[]] $relative) @($relative | ForEach-Object { Join-Path $root $_ }) }

Import-Module (Resolve-Path $ModulePath).Path
$model = Import-FssdModel -Pretrained ResNet18
$center = New-FssdCenter -Model $model
$layers = @($model.Layers | ForEach-Object Name)
if ($Taps -eq 'Stages') { $layers = @($layers | Select-Object -SkipLast 1) }
$kinds = [Enum]::GetNames([Fssd.PseudoOutlierKind])
$designs = [ordered]@{}
foreach ($k in $kinds) { $designs[$k] = @($k) }
$designs['default (PatchShuffle2, 4, 7)'] = @('PatchShuffle2', 'PatchShuffle4', 'PatchShuffle7')
$designs['all kinds'] = $kinds

$benchmarks = @(
    @{ Name = 'animals'; In = & $full $sets.Animals; Ood = [ordered]@{ drawings = & $full $sets.Drawings; 'other photos' = & $full $sets.Objects } }
    @{ Name = 'objects'; In = & $full $sets.Objects; Ood = [ordered]@{ drawings = & $full $sets.Drawings; 'other photos' = & $full $sets.Animals } }
) | Sort-Object { $_.Name -ne $DesignBenchmark }

$rows = [System.Collections.Generic.List[object]]::new()
$clock = [Diagnostics.Stopwatch]::StartNew()
foreach ($b in $benchmarks) {
    $fit = @(for ($i = 0; $i -lt $b.In.Count; $i += 2) { $b.In[$i] })
    $test = @(for ($i = 1; $i -lt $b.In.Count; $i += 2) { $b.In[$i] })
    Write-Host "`n== $($b.Name)$(if ($b.Name -eq $DesignBenchmark) { ' (design)' } else { ' (check)' }): fit $($fit.Count), test $($test.Count); OoD $(($b.Ood.Keys | ForEach-Object { "$_ $($b.Ood[$_].Count)" }) -join ', ')"
    foreach ($name in $designs.Keys) {
        $detector = New-FssdDetector -Model $model -InDistribution $fit -Center $center -OutlierFree -PseudoOutlier $designs[$name] `
            -Epsilon 0 -Layer $layers -Name "photo-$($b.Name)" -WarningAction SilentlyContinue
        $in = @($test | Measure-Fssd -Detector $detector)
        $row = [ordered]@{ Benchmark = $b.Name; Role = $(if ($b.Name -eq $DesignBenchmark) { 'design' } else { 'check' }); Design = $name }
        foreach ($o in $b.Ood.Keys) {
            $out = @($b.Ood[$o] | Measure-Fssd -Detector $detector)
            $metrics = Get-FssdMetrics -InDistribution $in -OutOfDistribution $out -Method $name
            $row["AUROC $o"] = $metrics.AUROC
            $row["rejected $o"] = @($out | Where-Object IsOutOfDistribution).Count / $out.Count
        }
        $row['kept in'] = @($in | Where-Object { -not $_.IsOutOfDistribution }).Count / $in.Count
        $row['weights'] = ($detector.Layers | ForEach-Object { '{0}={1:+0.00;-0.00}' -f ($_.Name -replace '_Output_0$', ''), $_.Weight }) -join ' '
        $rows.Add([pscustomobject]$row)
        Write-Host ('  {0,-30} drawings {1:F3}  other photos {2:F3}  kept {3:P0}  [{4}]  {5:F0} s' -f $name, $row['AUROC drawings'], $row['AUROC other photos'], $row['kept in'], $row['weights'], $clock.Elapsed.TotalSeconds)
    }
}

$md = [System.Text.StringBuilder]::new()
[void]$md.AppendLine("Design benchmark: $DesignBenchmark; taps: $($layers -join ', '); eps 0; center: F* of 100 uniform-noise images.")
[void]$md.AppendLine()
[void]$md.AppendLine('| benchmark | pseudo-outliers | AUROC vs drawings | AUROC vs other photos | drawings rejected | other photos rejected | test photos kept | tap weights |')
[void]$md.AppendLine('|---|---|---|---|---|---|---|---|')
foreach ($r in $rows) {
    [void]$md.AppendLine(('| {0} ({1}) | {2} | {3:F3} | {4:F3} | {5:P0} | {6:P0} | {7:P0} | {8} |' -f $r.Benchmark, $r.Role, $r.Design,
        $r.'AUROC drawings', $r.'AUROC other photos', $r.'rejected drawings', $r.'rejected other photos', $r.'kept in', $r.weights))
}
$md.ToString() | Set-Content $MarkdownPath
Write-Host "`n$($md.ToString())"
Write-Host "Written to $MarkdownPath ($([Math]::Round($clock.Elapsed.TotalMinutes, 1)) minutes)."
