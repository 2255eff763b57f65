<#
.SYNOPSIS
    Makes the cmdlets' MAML help from docs/en-US/<Cmdlet>.md and the cmdlets' own metadata.

.DESCRIPTION
    Each exported cmdlet has one markdown file with the sections SYNOPSIS, DESCRIPTION, EXAMPLES
    (one "### Example N: title" each, a fenced code block and remarks), PARAMETERS (one "### -Name"
    each), INPUTS, OUTPUTS and NOTES. Parameter types, positions, pipeline input and parameter sets
    come from the compiled cmdlets, so the help never disagrees with the code. A cmdlet without a
    file, a synopsis, an example or a description of each of its parameters fails the build.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters +
    [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Read-HelpMarkdown {
    param([string] $Path)
    $sections = [ordered]@{}
    $current = $null
    $inFence = $false
    foreach ($line in Get-Content -LiteralPath $Path) {
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match '^## (.+)$') {
            $current = $Matches[1].Trim().ToUpperInvariant()
            $sections[$current] = [Collections.Generic.List[string]]::new()
            continue
        }
        if ($null -ne $current) { $sections[$current].Add($line) }
    }
    $sections
}

function Split-Subsections {
    # "### Title" blocks inside a section: ordered title -> lines.
    param([string[]] $Lines)
    $result = [ordered]@{}
    $current = $null
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match '^### (.+)$') {
            $current = $Matches[1].Trim()
            $result[$current] = [Collections.Generic.List[string]]::new()
            continue
        }
        if ($null -ne $current) { $result[$current].Add($line) }
    }
    $result
}

function ConvertTo-Paragraphs {
    param([string[]] $Lines)
    $text = ($Lines -join "`n").Trim()
    if (-not $text) { return @() }
    @($text -split "\n\s*\n" | ForEach-Object { ($_ -replace '\s*\n\s*', ' ').Trim() } | Where-Object { $_ })
}

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Paras {
    param([Xml.XmlWriter] $Writer, [string[]] $Paragraphs)
    if (-not $Paragraphs) { $Paragraphs = @('') }
    foreach ($p in $Paragraphs) { $Writer.WriteElementString('para', $maml, $p) }
}

function Get-DefaultValue {
    # [PSDefaultValue] when the cmdlet states it; otherwise what a fresh instance of the cmdlet holds.
    param($Command, $Parameter)
    $stated = $Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.PSDefaultValueAttribute] } | Select-Object -First 1
    if ($stated) { return $(if ($stated.Help) { $stated.Help } else { [string]$stated.Value }) }
    $property = $Command.ImplementingType.GetProperty($Parameter.Name)
    if (-not $property) { return 'None' }
    $value = $property.GetValue([Activator]::CreateInstance($Command.ImplementingType))
    if ($null -eq $value) { return 'None' }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return [string]$value.IsPresent }
    if ($value -is [Array]) { return $(if ($value.Length) { $value -join ', ' } else { 'None' }) }
    [Convert]::ToString($value, [Globalization.CultureInfo]::InvariantCulture)
}

function Write-Parameter {
    param([Xml.XmlWriter] $Writer, $Parameter, $SetData, [string[]] $Description, $Command)
    $w = $Writer
    $wildcards = [bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $typeName = $Parameter.ParameterType.Name
    $pipeline = @()
    if ($SetData.ValueFromPipeline) { $pipeline += 'ByValue' }
    if ($SetData.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
    $w.WriteStartElement('command', 'parameter', $command)
    $w.WriteAttributeString('required', $SetData.IsMandatory.ToString().ToLowerInvariant())
    $w.WriteAttributeString('variableLength', 'true')
    $w.WriteAttributeString('globbing', $wildcards.ToString().ToLowerInvariant())
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($SetData.Position -ge 0) { [string]$SetData.Position } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('name', $maml, $Parameter.Name)
    $w.WriteStartElement('description', $maml); Write-Paras $w $Description; $w.WriteEndElement()
    if ($Parameter.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
        $w.WriteStartElement('command', 'parameterValue', $command)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', 'false')
        $w.WriteString($typeName)
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('name', $maml, $Parameter.ParameterType.FullName); $w.WriteEndElement()
    $w.WriteElementString('dev', 'defaultValue', $dev, (Get-DefaultValue $Command $Parameter))
    $w.WriteEndElement()
}

Import-Module $ModulePath -Force
$module = Get-Module Fssd
$onlineHelp = $module.PrivateData.PSData.ProjectUri.ToString().TrimEnd('/') + '/blob/main/docs/en-US'
$cmdlets = @($module.ExportedCmdlets.Values | Sort-Object Name)
if (-not $cmdlets) { throw "The module at '$ModulePath' exports no cmdlets." }

$null = New-Item -ItemType Directory -Force -Path $OutputPath
$helpFile = Join-Path $OutputPath ($cmdlets[0].ImplementingType.Assembly.GetName().Name + '.dll-Help.xml')
$settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
$writer = [Xml.XmlWriter]::Create($helpFile, $settings)
$problems = [Collections.Generic.List[string]]::new()
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($cmd in $cmdlets) {
        $doc = Join-Path $DocsPath "$($cmd.Name).md"
        if (-not (Test-Path -LiteralPath $doc)) { $problems.Add("$($cmd.Name): no help file $doc"); continue }
        $s = Read-HelpMarkdown $doc
        $synopsis = if ($s.Contains('SYNOPSIS')) { ConvertTo-Paragraphs $s['SYNOPSIS'] } else { @() }
        if (-not $synopsis) { $problems.Add("$($cmd.Name): no SYNOPSIS") }
        $examples = if ($s.Contains('EXAMPLES')) { Split-Subsections $s['EXAMPLES'] } else { [ordered]@{} }
        if ($examples.Count -eq 0) { $problems.Add("$($cmd.Name): no example") }
        $paramDocs = if ($s.Contains('PARAMETERS')) { Split-Subsections $s['PARAMETERS'] } else { [ordered]@{} }
        $parameters = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $commonParameters } | Sort-Object Name)
        $describe = @{}
        foreach ($p in $parameters) {
            $key = "-$($p.Name)"
            if ($paramDocs.Contains($key)) { $describe[$p.Name] = ConvertTo-Paragraphs $paramDocs[$key] }
            else { $problems.Add("$($cmd.Name): parameter -$($p.Name) is not described") }
        }

        $w = $writer
        $w.WriteStartElement('command', 'command', $command)
        $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
        $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
        $w.WriteStartElement('command', 'details', $command)
        $w.WriteElementString('name', $command, $cmd.Name)
        $w.WriteElementString('verb', $command, $cmd.Verb)
        $w.WriteElementString('noun', $command, $cmd.Noun)
        $w.WriteStartElement('description', $maml); Write-Paras $w $synopsis; $w.WriteEndElement()
        $w.WriteEndElement()
        $w.WriteStartElement('description', $maml)
        Write-Paras $w $(if ($s.Contains('DESCRIPTION')) { ConvertTo-Paragraphs $s['DESCRIPTION'] } else { $synopsis })
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'syntax', $command)
        foreach ($set in $cmd.ParameterSets) {
            $w.WriteStartElement('command', 'syntaxItem', $command)
            $w.WriteElementString('name', $maml, $cmd.Name)
            foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $commonParameters }) {
                $full = $cmd.Parameters[$p.Name]
                Write-Parameter $w $full $p $describe[$p.Name] $cmd
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'parameters', $command)
        foreach ($p in $parameters) {
            $setData = $p.ParameterSets.Values | Select-Object -First 1
            Write-Parameter $w $p $setData $describe[$p.Name] $cmd
        }
        $w.WriteEndElement()

        foreach ($kind in @(@('INPUTS', 'inputTypes', 'inputType'), @('OUTPUTS', 'returnValues', 'returnValue'))) {
            $w.WriteStartElement('command', $kind[1], $command)
            $items = if ($s.Contains($kind[0])) { Split-Subsections $s[$kind[0]] } else { [ordered]@{} }
            if ($kind[0] -eq 'OUTPUTS' -and $items.Count -eq 0) {
                foreach ($t in $cmd.OutputType) { $items[$t.Name] = @() }
            }
            foreach ($name in $items.Keys) {
                $w.WriteStartElement('command', $kind[2], $command)
                $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('name', $maml, $name); $w.WriteEndElement()
                $w.WriteStartElement('description', $maml); Write-Paras $w (ConvertTo-Paragraphs $items[$name]); $w.WriteEndElement()
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }

        if ($s.Contains('NOTES')) {
            $w.WriteStartElement('alertSet', $maml)
            $w.WriteStartElement('alert', $maml); Write-Paras $w (ConvertTo-Paragraphs $s['NOTES']); $w.WriteEndElement()
            $w.WriteEndElement()
        }

        $w.WriteStartElement('command', 'examples', $command)
        foreach ($title in $examples.Keys) {
            $lines = $examples[$title]
            $code = [Collections.Generic.List[string]]::new()
            $remarks = [Collections.Generic.List[string]]::new()
            $inFence = $false
            foreach ($line in $lines) {
                if ($line -match '^```') { $inFence = -not $inFence; continue }
                if ($inFence) { $code.Add($line) } else { $remarks.Add($line) }
            }
            if ($code.Count -eq 0) { $problems.Add("$($cmd.Name): '$title' has no code") }
            $w.WriteStartElement('command', 'example', $command)
            $w.WriteElementString('title', $maml, "-------------------------- $title --------------------------")
            $w.WriteElementString('code', $dev, ($code -join "`n"))
            $w.WriteStartElement('remarks', $dev); Write-Paras $w (ConvertTo-Paragraphs $remarks); $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        # The first link is what Get-Help -Online opens: this help's markdown in the project's repository.
        $w.WriteStartElement('command', 'relatedLinks', $command)
        $w.WriteStartElement('navigationLink', $maml)
        $w.WriteElementString('linkText', $maml, 'Online version:')
        $w.WriteElementString('uri', $maml, "$onlineHelp/$($cmd.Name).md")
        $w.WriteEndElement()
        $w.WriteStartElement('navigationLink', $maml)
        $w.WriteElementString('linkText', $maml, 'about_Fssd')
        $w.WriteElementString('uri', $maml, '')
        $w.WriteEndElement()
        $w.WriteEndElement()

        $w.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
} finally {
    $writer.Dispose()
}
if ($problems.Count) { throw "Cmdlet help is incomplete:`n  $($problems -join "`n  ")" }
Write-Host "Help for $($cmdlets.Count) cmdlets written to $helpFile"
