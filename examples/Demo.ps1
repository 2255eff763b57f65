<#
.SYNOPSIS
    The module's main job on its built-in default: imports the module and shows the compute context.
#>
param([string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Get-FssdContext | Format-List
