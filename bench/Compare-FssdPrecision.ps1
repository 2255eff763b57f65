<#
.SYNOPSIS
    bfloat16 against float32 scoring: AUROC per tap and ensembled, and the share of in-distribution inputs
    a detector's threshold keeps, on FashionMNIST against MNIST, Kana and the outlier-free pseudo-outliers.
.DESCRIPTION
    For each detector (the shipped outlier-free default and the paper-protocol one, both calibrated in
    float32), scores the same inputs with Measure-Fssd -Precision Float32 and -Precision BFloat16:
      - in-distribution: FashionMNIST test images from -Skip on (the paper-protocol detector was calibrated
        on images 0-999 and MNIST digits 1000-1999, so both sets start past them);
      - MNIST digits from -Skip on; Kana (the rendered kana glyphs of Get-FssdDataset Kana);
      - pseudo-outliers: the outlier-free calibration's own kinds (patch shuffles of 2, 4 and 7 cells per
        side), made from other FashionMNIST test images (seed 7).
    Prints, per detector, OoD set and tap (and the ensembled score), AUROC in float32 and bfloat16 and the
    difference in points; then the share of in-distribution inputs each detector's threshold keeps (its
    TPR) in both precisions; the largest AUROC difference; and whether bfloat16 passes the rule for a
    default: AUROC within 0.1 point everywhere and the TPR within 0.5 point.
    BFloat16 computes only where the processor has AVX512-BF16 or AMX (Get-FssdContext's InstructionSets);
    elsewhere Measure-Fssd warns and both columns are float32.
.EXAMPLE
    dotnet pwsh ./bench/Compare-FssdPrecision.ps1
.EXAMPLE
    dotnet pwsh ./bench/Compare-FssdPrecision.ps1 -Count 5000
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string[]] $Detector = @(
        (Join-Path $PSScriptRoot '../module/models/fashion-mnist-lenet.fssd.yaml'),
        (Join-Path $PSScriptRoot '../module/models/fashion-mnist-lenet.paper.fssd.yaml')),
    # Inputs per set.
    [int] $Count = 3000,
    # In-distribution and MNIST inputs start here (past the paper-protocol detector's calibration inputs).
    [int] $Skip = 2000
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module (Resolve-Path $ModulePath).Path
$context = Get-FssdContext
Write-Host ("{0:yyyy-MM-dd HH:mm} UTC · {1} · {2} thread(s) · libtorch {3} · instruction sets: {4}" -f [DateTime]::UtcNow, $context.DeviceName, $context.Threads, $context.TorchVersion, ($context.InstructionSets -join ', '))

$fashion = Get-FssdDataset FashionMNIST -Split test
$inDistribution = @(Get-FssdSample $fashion -Skip $Skip -First $Count)
$sets = [ordered]@{
    MNIST = @(Get-FssdSample (Get-FssdDataset MNIST) -Skip $Skip -First $Count)
    Kana  = @(Get-FssdSample (Get-FssdDataset Kana) -First $Count)
}
# The outlier-free calibration's pseudo-outliers, made by the engine from other in-distribution images.
$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Fssd.Engine' } | Select-Object -First 1
$pseudo = $engine.GetType('Fssd.Engine.Calibration.PseudoOutliers', $true)
$sources = @(Get-FssdSample $fashion -Skip ($Skip + $Count) -First $Count)
[byte[][]] $pixels = $sources | ForEach-Object { , $_.Pixels }
$made = $pseudo::MakeMixture([Collections.Generic.List[byte[]]]$pixels, $pseudo::DefaultKinds, 1, 28, 28, 7)
$sets['pseudo-outliers'] = @(for ($i = 0; $i -lt $made.Item1.Count; $i++) {
        [Fssd.FssdSample]@{ Dataset = 'pseudo-outliers'; Index = $i; Source = "pseudo-outlier $i ($($made.Item2[$i]))"; Height = 28; Width = 28; Channels = 1; Pixels = $made.Item1[$i] }
    })

$rows = [Collections.Generic.List[object]]::new()
$thresholds = [Collections.Generic.List[object]]::new()
foreach ($path in $Detector) {
    $d = Import-FssdDetector -Path (Resolve-Path $path).Path
    $scores = @{}
    $seconds = @{}
    foreach ($precision in 'Float32', 'BFloat16') {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $scores["$precision/in"] = @($inDistribution | Measure-Fssd -Detector $d -Precision $precision)
        foreach ($name in $sets.Keys) { $scores["$precision/$name"] = @($sets[$name] | Measure-Fssd -Detector $d -Precision $precision) }
        $seconds[$precision] = $clock.Elapsed.TotalSeconds
    }
    $layers = @($d.Layers | ForEach-Object Key)
    foreach ($name in $sets.Keys) {
        foreach ($layer in @($layers) + 'ensembled') {
            $auroc = @{}
            foreach ($precision in 'Float32', 'BFloat16') {
                $in = $scores["$precision/in"]; $out = $scores["$precision/$name"]
                $auroc[$precision] = if ($layer -eq 'ensembled') { (Get-FssdMetrics $in $out).AUROC } else { (Get-FssdMetrics $in $out -Layer $layer).AUROC }
            }
            $rows.Add([pscustomobject]@{
                    Detector = $d.Name; OoD = $name; Layer = $layer
                    Float32 = [math]::Round(100 * $auroc.Float32, 2); BFloat16 = [math]::Round(100 * $auroc.BFloat16, 2)
                    Points = [math]::Round(100 * ($auroc.BFloat16 - $auroc.Float32), 3)
                })
        }
    }
    $kept = @{}
    foreach ($precision in 'Float32', 'BFloat16') { $kept[$precision] = @($scores["$precision/in"] | Where-Object { -not $_.IsOutOfDistribution }).Count / $inDistribution.Count }
    $thresholds.Add([pscustomobject]@{
            Detector = $d.Name; Threshold = $d.Threshold; TargetTPR = $d.TargetTpr
            Float32 = [math]::Round(100 * $kept.Float32, 2); BFloat16 = [math]::Round(100 * $kept.BFloat16, 2)
            Points = [math]::Round(100 * ($kept.BFloat16 - $kept.Float32), 3)
            Seconds = ('{0:F1} / {1:F1}' -f $seconds.Float32, $seconds.BFloat16)
        })
}
"AUROC (%) per detector, OoD set and layer; Points = bfloat16 - float32"
$rows | Format-Table -AutoSize | Out-String -Width 200
"Share of $($inDistribution.Count) in-distribution inputs kept by each detector's threshold (TPR, %)"
$thresholds | Format-Table -AutoSize | Out-String -Width 200
$worstAuroc = ($rows | ForEach-Object { [math]::Abs($_.Points) } | Measure-Object -Maximum).Maximum
$worstTpr = ($thresholds | ForEach-Object { [math]::Abs($_.Points) } | Measure-Object -Maximum).Maximum
"Largest AUROC difference {0:F3} point(s) (rule: 0.1); largest TPR difference {1:F3} point(s) (rule: 0.5): bfloat16 {2} the rule for a default." -f $worstAuroc, $worstTpr, $(if ($worstAuroc -le 0.1 -and $worstTpr -le 0.5) { 'passes' } else { 'fails' })
