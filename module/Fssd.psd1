@{
    RootModule           = 'Fssd.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '3c9f5e0e-6f4e-4a55-9b71-2f1f8f4a7d21'
    Author               = 'Fssd for PowerShell contributors'
    CompanyName          = 'Fssd for PowerShell'
    Copyright            = '(c) Fssd for PowerShell contributors. MIT License.'
    Description          = 'Out-of-distribution detection with Feature Space Singularity Distance (FSSD) on TorchSharp: score files from the pipeline, calibrate detectors, measure them.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Fssd.Format.ps1xml')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'Export-FssdDataset'
        'Export-FssdDetector'
        'Export-FssdHistogram'
        'Export-FssdModel'
        'Get-FssdContext'
        'Get-FssdDataset'
        'Get-FssdMetrics'
        'Get-FssdPrediction'
        'Get-FssdSample'
        'Get-FssdShard'
        'Import-FssdDetector'
        'Import-FssdModel'
        'Install-FssdDataset'
        'Invoke-FssdBenchmark'
        'Join-FssdResult'
        'Measure-Fssd'
        'Measure-FssdAccuracy'
        'New-FssdCenter'
        'New-FssdBaseline'
        'New-FssdClassifier'
        'New-FssdDetector'
        'Remove-FssdModel'
        'Set-FssdContext'
    )
    VariablesToExport    = @()
    AliasesToExport      = @('New-FssCenter')
    HelpInfoURI          = 'https://github.com/fssd-powershell/Fssd/tree/main/docs/en-US'
    PrivateData          = @{
        PSData = @{
            Tags         = @('OutOfDistribution', 'OOD', 'FSSD', 'TorchSharp', 'MachineLearning', 'DataCleaning', 'Linux', 'Windows')
            ProjectUri   = 'https://github.com/fssd-powershell/Fssd'
            LicenseUri   = 'https://github.com/fssd-powershell/Fssd/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0
- Measure-Fssd scores image files from the pipeline with the shipped FashionMNIST detector, a detector
  you calibrate on your own images (New-FssdDetector), or a model's raw FSSD; results pipe safely into
  Move-Item, Copy-Item and Remove-Item and export one CSV column per tap.
- New-FssdDetector, New-FssdBaseline, Get-FssdMetrics, Invoke-FssdBenchmark: FSSD and the paper's
  baselines, calibrated and measured with scikit-learn's metric definitions.
- Import-FssdModel: LeNet, ResNet and TorchScript/safetensors weights, ONNX models, a pretrained ResNet18.
- Sharded, resumable runs (-Shard, -ResultPath, Join-FssdResult); hostile files are errors, never crashes.
'@
        }
    }
}
