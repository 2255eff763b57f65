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
        'New-FssCenter'
        'New-FssdBaseline'
        'New-FssdClassifier'
        'New-FssdDetector'
        'Remove-FssdModel'
        'Set-FssdContext'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('OutOfDistribution', 'OOD', 'FSSD', 'TorchSharp', 'MachineLearning', 'Linux', 'Windows')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
