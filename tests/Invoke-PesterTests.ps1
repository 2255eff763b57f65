<#
.SYNOPSIS
    Runs the Pester tests against a built module folder and writes a JSON summary (Passed, Failed).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $ResultPath,
    [string] $TestPath,
    [string] $ExcludeTag
)
$ErrorActionPreference = 'Stop'

# Pester comes from NuGet as a package download (build/tools/Tools.csproj); PSGallery is not needed.
$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
$pester = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
if (-not (Test-Path -LiteralPath $pester)) { throw "Pester 5.7.1 is not in '$packages'; run 'dotnet restore build/tools/Tools.csproj'." }
Import-Module $pester -Force

$env:FSSD_TEST_MODULE = (Resolve-Path -LiteralPath $ModulePath).Path
$config = New-PesterConfiguration
$config.Run.Path = if ($TestPath) { $TestPath -split ',' } else { Join-Path $PSScriptRoot 'pester' }
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag -split ',' }
$result = Invoke-Pester -Configuration $config

@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount;
   Skipped = $result.SkippedCount } | ConvertTo-Json | Set-Content -LiteralPath $ResultPath
if ($result.Result -ne 'Passed') { exit 1 }
