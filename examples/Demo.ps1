<#
.SYNOPSIS
    The module's main job on its built-in defaults: the example images under examples/samples scored
    by the default detector, and by the detector calibrated with the paper's protocol, with nothing
    downloaded.
.DESCRIPTION
    The samples are six FashionMNIST test images and six MNIST digits. The classifier (LeNet trained
    on FashionMNIST) calls every digit some piece of clothing. Two detectors ship with it:
      - the default detector never saw MNIST or any other real OoD data: FSSD-Ensem (all four taps,
        logistic-regression weights, a searched eps) calibrated outlier-free, against patch-shuffled
        FashionMNIST validation images, with a threshold that keeps 95% of FashionMNIST images;
      - the paper-protocol detector is FSSD-Ensem (all four taps, logistic-regression weights, a
        searched eps) calibrated with 1,000 MNIST digits as OoD validation data (not these samples).
#>
param([string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$context = Get-FssdContext
Write-Host ("Fssd on {0} (libtorch {1}, {2} threads)" -f $context.Device, $context.TorchVersion, $context.Threads)
$default = Import-FssdDetector
$paper = Import-FssdDetector (Join-Path (Split-Path $default.Path) 'fashion-mnist-lenet.paper.fssd.yaml')
$trained = $default.Model.Training
Write-Host ("Model: {0}, {1} trained on {2} {3} images, {4} epochs, test accuracy {5:P2}" -f
    $default.Model.Name, $default.Model.Architecture, $trained.TrainingCount, $trained.Dataset, $trained.Epochs.Count, $trained.Epochs[-1].Accuracy)
Write-Host ("Default detector: FSSD-Ensem over {0}, eps {1}, {2}, with Knn layers {3}; threshold keeps {4:P0} of {5}" -f
    (($default.Layers | Where-Object { -not $_.Method }).Name -join ', '), $default.Epsilon, $default.Calibration,
    (($default.Layers | Where-Object Method).Key -join ', '), $default.TargetTpr, $default.ValidationSource)
Write-Host ("Paper-protocol detector: FSSD-Ensem over {0}, eps {1}, calibrated on {2}" -f
    ($paper.Layers.Name -join ', '), $paper.Epsilon, $paper.ValidationSource)

$files = @(Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot 'samples') -Filter *.png | Sort-Object Name)
$byDefault = $files | Measure-Fssd -Detector $default
$byPaper = $files | Measure-Fssd -Detector $paper
$rows = for ($i = 0; $i -lt $files.Count; $i++) {
    [pscustomobject]@{
        Sample     = $files[$i].BaseName -replace '^fashion-mnist-', 'fashion-' -replace '-\d+$', ''
        Default    = '{0:F2}' -f $byDefault[$i].Score
        OoD        = $byDefault[$i].IsOutOfDistribution
        Ensemble   = '{0:F2}' -f $byPaper[$i].Score
        'OoD '     = $byPaper[$i].IsOutOfDistribution
        Class      = $byDefault[$i].PredictedClass
        Confidence = '{0:P1}' -f $byDefault[$i].Confidence
    }
}
$rows | Format-Table -AutoSize | Out-Host
$digits = @(0..($files.Count - 1) | Where-Object { $files[$_].Name -like 'mnist-*' })
$garments = @(0..($files.Count - 1) | Where-Object { $files[$_].Name -notlike 'mnist-*' })
function Flagged($scores, $indices) { @($indices | Where-Object { $scores[$_].IsOutOfDistribution }).Count }
Write-Host 'Small scores = close to the singularity = out of distribution.'
Write-Host ("The default detector, which never saw a digit, flags {0} of {1} digits and {2} of {3} garments;" -f
    (Flagged $byDefault $digits), $digits.Count, (Flagged $byDefault $garments), $garments.Count)
Write-Host ("the paper-protocol detector, calibrated with MNIST digits, flags {0} of {1} digits and {2} of {3} garments." -f
    (Flagged $byPaper $digits), $digits.Count, (Flagged $byPaper $garments), $garments.Count)
Write-Host 'The classifier names a garment for every digit.'
