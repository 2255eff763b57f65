# Loads the Fssd cmdlets into the module's own AssemblyLoadContext (see Fssd.Loader), so that
# TorchSharp, YamlDotNet, Google.Protobuf and SkiaSharp never clash with what another module loaded.
$ErrorActionPreference = 'Stop'

if (-not ('Fssd.Loader.FssdLoadContext' -as [type])) {
    Add-Type -LiteralPath ([IO.Path]::Combine($PSScriptRoot, 'bin', 'Fssd.Contracts.dll'))
    Add-Type -LiteralPath ([IO.Path]::Combine($PSScriptRoot, 'bin', 'Fssd.Loader.dll'))
}

$cmdletAssembly = [Fssd.Loader.FssdLoadContext]::Initialize()
$importModule = Get-Command -Name Import-Module -Module Microsoft.PowerShell.Core
$innerModule = & $importModule -Assembly $cmdletAssembly -PassThru -DisableNameChecking

# Removing this module removes the binary module imported above with it.
$ExecutionContext.SessionState.Module.OnRemove = {
    Remove-Module -ModuleInfo $innerModule -ErrorAction SilentlyContinue
}.GetNewClosure()

Export-ModuleMember -Cmdlet @($innerModule.ExportedCmdlets.Keys)
