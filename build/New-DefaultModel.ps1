<#
.SYNOPSIS
    Reproduces the module's default model, its default detector and the example images.
.DESCRIPTION
    Trains LeNet on FashionMNIST's 60,000 training images with New-FssdClassifier, as the paper's
    authors trained it (Adadelta, lr 1.0, StepLR gamma 0.7, batch 64, 14 epochs, seed 1), measuring
    held-out accuracy on the 10,000 test images after every epoch, and writes
    module/models/fashion-mnist-lenet.yaml and .safetensors. Then the outlier-free FSSD-Ensem
    (fashion-mnist-lenet.outlier-free.fssd.yaml): F* from 100 uniform-noise images (seed 0), FSSD-Ensem
    calibrated outlier-free on FashionMNIST test images 0-999 (patch-shuffle pseudo-outliers, sign step,
    eps from 0, +-0.01, +-0.02), the threshold keeping 95% of the held-out half; the default detector
    (fashion-mnist-lenet.fssd.yaml): that FSSD-Ensem with Knn layers fitted on FashionMNIST training
    images 0-4999 (New-FssdDetector -Reference), its threshold keeping 95% of their held-out scores;
    and, for comparison, a detector
    calibrated by the paper's protocol (FSSD-Ensem with 1,000 MNIST digits as OoD validation data,
    fashion-mnist-lenet.paper.fssd.yaml). Then writes the sample images under
    examples/samples: six FashionMNIST test images and six MNIST digits as PNG.
    The same seed gives the same weights on the same machine and thread count. Run build.ps1 Build first.
.EXAMPLE
    dotnet pwsh ./build/New-DefaultModel.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $OutputPath = (Join-Path $PSScriptRoot '../module/models'),
    [string] $SamplePath = (Join-Path $PSScriptRoot '../examples/samples'),
    [int] $Epochs = 14,
    [long] $Seed = 1,
    [switch] $SamplesOnly,
    [switch] $DetectorOnly
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

if (-not $SamplesOnly -and -not $DetectorOnly) {
    $model = New-FssdClassifier LeNet -TrainingSet FashionMNIST/train -ValidationSet FashionMNIST/test `
        -OutputPath $OutputPath -Name fashion-mnist-lenet -Epochs $Epochs -Seed $Seed -Force -Verbose
    $model.Training.Epochs | Format-Table Epoch, Loss, Accuracy, LearningRate, Seconds | Out-Host
    Measure-FssdAccuracy FashionMNIST/test -Model $model | Format-List Model, Dataset, Count, Correct, Accuracy | Out-Host
}

if (-not $SamplesOnly) {
    $model = Import-FssdModel (Join-Path $OutputPath 'fashion-mnist-lenet.yaml')
    $center = New-FssdCenter -Model $model -NoiseSamples 100 -Seed 0
    # Outlier-free: FSSD-Ensem calibrated against patch shuffles made from the 1,000 FashionMNIST images,
    # the sign step (a file's score does not depend on its batch-mates); no MNIST or other real OoD data.
    $outlierFree = New-FssdDetector -Model $model -Center $center -InDistribution (Get-FssdDataset FashionMNIST -Split test -First 1000) `
        -OutlierFree -Perturbation Sign -Name fashion-mnist-lenet -ValidationSource 'FashionMNIST test images 0-999; no OoD data'
    $outlierFree | Export-FssdDetector -Path (Join-Path $OutputPath 'fashion-mnist-lenet.outlier-free.fssd.yaml') -Force | Out-Null
    $outlierFree | Format-List Name, Calibration, Epsilon, Layers, Threshold, TargetTpr, ValidationTpr, ValidationSource | Out-Host
    $outlierFree.PseudoOutliers | Format-Table | Out-Host

    # The default: the same FSSD-Ensem (same calibration, same seed) with Knn layers fitted on the first
    # 5,000 training images (fc1 and conv2's texture, k = 1): the mean of the three standardised scores
    # (docs/default-detector.md: the best of FSSD, Knn and both on every OoD kind it was not designed on).
    $detector = New-FssdDetector -Model $model -Center $center -InDistribution (Get-FssdDataset FashionMNIST -Split test -First 1000) `
        -OutlierFree -Perturbation Sign -Name fashion-mnist-lenet -ValidationSource 'FashionMNIST test images 0-999; no OoD data' `
        -Reference (Get-FssdDataset FashionMNIST -Split train -First 5000)
    $detector | Export-FssdDetector -Path (Join-Path $OutputPath 'fashion-mnist-lenet.fssd.yaml') -Force | Out-Null
    $detector | Format-List Name, Calibration, Epsilon, Layers, Threshold, TargetTpr, ValidationTpr, ValidationSource, TrainingSource | Out-Host

    # The paper's protocol, for comparison: FSSD-Ensem calibrated with 1,000 MNIST digits as OoD
    # validation data (digits 1000-1999, none of the example images), the paper's sign step and eps grid.
    $paper = New-FssdDetector -Model $model -Center $center -InDistribution (Get-FssdDataset FashionMNIST -Split test -First 1000) `
        -OutOfDistribution (Get-FssdSample MNIST -Skip 1000 -First 1000) -Perturbation Sign `
        -Name fashion-mnist-lenet-paper -ValidationSource 'FashionMNIST test images 0-999 and MNIST digits 1000-1999 (the paper''s protocol)'
    $paper | Export-FssdDetector -Path (Join-Path $OutputPath 'fashion-mnist-lenet.paper.fssd.yaml') -Force | Out-Null
    $paper | Format-List Name, Calibration, Epsilon, Layers, Threshold, ValidationTpr, ValidationMetrics | Out-Host
}

# Six FashionMNIST test images of different classes and six MNIST digits, flat in one folder.
$null = New-Item -ItemType Directory -Force -Path $SamplePath
Get-ChildItem -LiteralPath $SamplePath -Filter *.png | Remove-Item
$staging = Join-Path ([IO.Path]::GetTempPath()) "fssd-samples-$PID"
Get-FssdSample FashionMNIST/test -First 40 | Group-Object Label | Select-Object -First 6 | ForEach-Object { $_.Group[0] } |
    Export-FssdDataset -Path (Join-Path $staging fashion) -PassThru |
    ForEach-Object { Move-Item $_.FullName (Join-Path $SamplePath ('fashion-mnist-{0}-{1}' -f $_.Directory.Name.ToLowerInvariant(), $_.Name.Split('-')[-1])) }
Get-FssdSample MNIST -First 40 | Group-Object Label | Select-Object -First 6 | ForEach-Object { $_.Group[0] } |
    Export-FssdDataset -Path (Join-Path $staging mnist) -PassThru |
    ForEach-Object { Move-Item $_.FullName (Join-Path $SamplePath ('mnist-digit{0}-{1}' -f $_.Directory.Name, $_.Name.Split('-')[-1])) }
Remove-Item -Recurse -Force $staging
Get-ChildItem -LiteralPath $SamplePath -Filter *.png | Select-Object Name, Length
