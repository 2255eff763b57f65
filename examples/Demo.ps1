<#
.SYNOPSIS
    The module's main job on its built-in default: the default model (LeNet trained on FashionMNIST)
    classifies the example images under examples/samples, with nothing downloaded.
.DESCRIPTION
    The samples are six FashionMNIST test images and six MNIST digits. The classifier calls every
    digit some piece of clothing, often with high confidence: a softmax cannot say "none of these".
    That gap is what FSSD scores close (see README).
#>
param([string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$context = Get-FssdContext
Write-Host ("Fssd on {0} (libtorch {1}, {2} threads)" -f $context.Device, $context.TorchVersion, $context.Threads)

$model = Import-FssdModel
$trained = $model.Training
Write-Host ("Default model: {0}, {1} trained on {2} images of {3}, {4} epochs, held-out accuracy {5:P2}" -f
    $model.Name, $model.Architecture, $trained.TrainingCount, $trained.Dataset, $trained.Epochs.Count, $trained.Epochs[-1].Accuracy)

Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot 'samples') -Filter *.png |
    Get-FssdPrediction -Model $model |
    Format-Table @{ Label = 'Sample'; Expression = { Split-Path -Leaf $_.Path } }, PredictedClass,
        @{ Label = 'Confidence'; Expression = { '{0:P1}' -f $_.Confidence }; Align = 'Right' } |
    Out-Host
Write-Host 'The mnist-digit* samples are not clothes at all, yet get a class and often a high confidence.'
