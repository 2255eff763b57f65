BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $script:cmdlets = @((Get-Module Fssd).ExportedCmdlets.Keys | Sort-Object | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Help of <Name>' -ForEach $cmdlets {
    BeforeAll { $help = Get-Help $Name -Full }

    It 'has a synopsis' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$Name *[<]CommonParameters[>]*"
    }

    It 'describes every parameter' {
        $params = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($p in $params) {
            $entry = $help.parameters.parameter | Where-Object name -eq $p
            $entry | Should -Not -BeNullOrEmpty -Because "-$p must be in the help"
            ($entry.description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }

    It 'has at least one example with code' {
        @($help.examples.example).Count | Should -BeGreaterThan 0
        foreach ($e in $help.examples.example) { $e.code | Should -Not -BeNullOrEmpty }
    }

    It 'states what the code states: wildcards where the parameter takes them, defaults a fresh command holds' {
        $command = Get-Command $Name
        foreach ($p in $command.Parameters.Values | Where-Object Name -notin $common) {
            $entry = $help.parameters.parameter | Where-Object name -eq $p.Name
            $wildcards = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
            $entry.globbing | Should -Be $wildcards.ToString().ToLowerInvariant() -Because "-$($p.Name)"
            $property = $command.ImplementingType.GetProperty($p.Name)
            $value = $property.GetValue([Activator]::CreateInstance($command.ImplementingType))
            $stated = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.PSDefaultValueAttribute] }
            if (-not $stated -and $value -is [ValueType] -and $value -isnot [System.Management.Automation.SwitchParameter] -and $value -isnot [bool]) {
                $entry.defaultValue | Should -Be ([Convert]::ToString($value, [Globalization.CultureInfo]::InvariantCulture)) -Because "-$($p.Name)"
            }
        }
    }

    It 'links its online version, the markdown it is made from' {
        $uri = @($help.relatedLinks.navigationLink)[0].uri
        $uri | Should -Match "^https://.+/docs/en-US/$Name\.md$"
        Join-Path $RepoRoot "docs/en-US/$Name.md" | Should -Exist
    }

    It 'shows it all in Get-Help -Full' {
        $text = Get-Help $Name -Full | Out-String
        $text | Should -Match 'SYNOPSIS'
        $text | Should -Match 'Example 1'
    }
}
