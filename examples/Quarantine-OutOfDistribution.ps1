<#
.SYNOPSIS
    Data cleaning: moves the files a detector calls out of distribution into a quarantine folder,
    and writes every score to a CSV (one column per tap) for a later look.
.EXAMPLE
    ./examples/Quarantine-OutOfDistribution.ps1 -Incoming ./incoming -Quarantine ./quarantine
    Uses the module's default detector (LeNet on FashionMNIST).
.EXAMPLE
    ./examples/Quarantine-OutOfDistribution.ps1 -Incoming ./incoming -Quarantine ./quarantine -Detector ./my-net.fssd.yaml -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $Incoming,
    [Parameter(Mandatory)] [string] $Quarantine,
    [string] $Detector,
    [string] $ScoresCsv = (Join-Path $Quarantine 'scores.csv'),
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$d = if ($Detector) { Import-FssdDetector $Detector } else { Import-FssdDetector }
$null = New-Item -ItemType Directory -Force -Path $Quarantine

# Unreadable files are reported (non-terminating) and skipped; everything else gets one score.
$scores = Get-ChildItem -LiteralPath $Incoming -File -Recurse |
    Where-Object { $_.Extension -in '.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp' } |
    Measure-Fssd -Detector $d -ErrorAction Continue
$scores | Export-Csv -LiteralPath $ScoresCsv -NoTypeInformation
$flagged = @($scores | Where-Object IsOutOfDistribution)
$flagged | Move-Item -Destination $Quarantine
Write-Host ("{0} file(s) scored, {1} moved to {2}; scores in {3}" -f $scores.Count, $flagged.Count, $Quarantine, $ScoresCsv)
