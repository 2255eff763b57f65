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

# Per-file results (scores, predictions) show their properties in a fixed order, one column per tap, and a
# PSPath that Move-Item, Copy-Item and Remove-Item bind literally (see Fssd.PowerShell.FileResultAdapter).
$adapter = $cmdletAssembly.GetType('Fssd.PowerShell.FileResultAdapter', $true)
$adaptedTypes = @($adapter.GetProperty('Types').GetValue($null) | ForEach-Object FullName)
foreach ($typeName in $adaptedTypes) {
    Update-TypeData -TypeName $typeName -TypeAdapter $adapter -Force
}

# Removing this module removes the binary module imported above with it, and the type adapter.
$ExecutionContext.SessionState.Module.OnRemove = {
    foreach ($typeName in $adaptedTypes) { Remove-TypeData -TypeName $typeName -ErrorAction SilentlyContinue }
    Remove-Module -ModuleInfo $innerModule -ErrorAction SilentlyContinue
}.GetNewClosure()

Export-ModuleMember -Cmdlet @($innerModule.ExportedCmdlets.Keys) -Alias @($innerModule.ExportedAliases.Keys)
