<#
.SYNOPSIS
    The module's main job on its built-in default: the default detector (LeNet trained on
    FashionMNIST, its noise F*, a threshold set on FashionMNIST images) scores the example images
    under examples/samples, with nothing downloaded.
.DESCRIPTION
    The samples are six FashionMNIST test images and six MNIST digits. The classifier alone calls
    every digit some piece of clothing, often with high confidence; FSSD measures how far each
    image's features are from the Feature Space Singularity, where out-of-distribution inputs land.
#>
param([string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$context = Get-FssdContext
Write-Host ("Fssd on {0} (libtorch {1}, {2} threads)" -f $context.Device, $context.TorchVersion, $context.Threads)
$detector = Import-FssdDetector
$trained = $detector.Model.Training
Write-Host ("Default model: {0}, {1} trained on {2} {3} images, {4} epochs, test accuracy {5:P2}" -f
    $detector.Model.Name, $detector.Model.Architecture, $trained.TrainingCount, $trained.Dataset, $trained.Epochs.Count, $trained.Epochs[-1].Accuracy)
Write-Host ("Default detector: FSSD at {0}, threshold {1:G5} keeps {2:P0} of {3}" -f
    ($detector.Layers.Name -join ' + '), $detector.Threshold, $detector.TargetTpr, $detector.ValidationSource)

Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot 'samples') -Filter *.png |
    Measure-Fssd -Detector $detector |
    Format-Table -AutoSize @{ Label = 'Sample'; Expression = { [IO.Path]::GetFileNameWithoutExtension($_.Path) } },
        @{ Label = 'FSSD'; Expression = { '{0:F3}' -f $_.Score }; Align = 'Right' },
        @{ Label = 'OoD'; Expression = { $_.IsOutOfDistribution } },
        PredictedClass,
        @{ Label = 'Confidence'; Expression = { '{0:P1}' -f $_.Confidence }; Align = 'Right' } |
    Out-Host
Write-Host 'Small FSSD = close to the singularity = out of distribution. The classifier still names a garment for every digit.'
