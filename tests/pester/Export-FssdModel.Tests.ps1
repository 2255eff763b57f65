BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $fixtures = Join-Path $RepoRoot 'tests/fixtures/models'
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-export-$([guid]::NewGuid().ToString('N'))"
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Export-FssdModel' {
    It 'writes a manifest and safetensors weights that import back to the same model' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet -ClassNames (0..9 | ForEach-Object { "c$_" })
        $file = $m | Export-FssdModel -Path $work -Name exported
        $file | Should -BeOfType ([IO.FileInfo])
        $file.Name | Should -Be 'exported.yaml'
        Join-Path $work 'exported.safetensors' | Should -Exist
        $back = Import-FssdModel $file.FullName
        $back.Architecture | Should -Be 'LeNet'
        $back.ClassNames | Should -Be $m.ClassNames
        $back.Layers.Name | Should -Be $m.Layers.Name
        $back.InputSpec.Mean | Should -Be $m.InputSpec.Mean
        Get-ChildItem $work -Filter *.tmp | Should -BeNullOrEmpty
    }

    It 'keeps existing files unless -Force' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        $m | Export-FssdModel -Path $work -Name twice -ErrorAction Stop | Out-Null
        { $m | Export-FssdModel -Path $work -Name twice -ErrorAction Stop } | Should -Throw -ErrorId 'FssdExportExists*'
        $m | Export-FssdModel -Path $work -Name twice -Force | Should -Not -BeNullOrEmpty
    }

    It 'writes nothing with -WhatIf' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        $m | Export-FssdModel -Path $work -Name whatif -WhatIf
        Join-Path $work 'whatif.yaml' | Should -Not -Exist
    }

    It 'copies a TorchScript archive with its manifest' {
        $m = Import-FssdModel (Join-Path $fixtures 'mlp7.scripted.pt') -Architecture TorchScript -InputSize 4, 4 -ColorMode Gray
        $file = $m | Export-FssdModel -Path $work -Name mlp
        (Import-FssdModel $file.FullName).Layers.Count | Should -Be 7
    }
}

Describe 'Remove-FssdModel' {
    It 'frees a model and says so when it is used again' {
        $m = Import-FssdModel (Join-Path $fixtures 'mlp7.scripted.pt') -Architecture TorchScript -InputSize 4, 4 -ColorMode Gray -Name removable
        (Get-FssdContext).Models.Id | Should -Contain $m.Id
        $m | Remove-FssdModel
        (Get-FssdContext).Models.Id | Should -Not -Contain $m.Id
        { $m | Export-FssdModel -Path $work -ErrorAction Stop } | Should -Throw -ErrorId 'FssdModelNotLoaded*'
        { $m | Remove-FssdModel -ErrorAction Stop } | Should -Throw -ErrorId 'FssdModelNotLoaded*'
    }

    It 'frees all models with -All' {
        $null = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        Remove-FssdModel -All
        (Get-FssdContext).Models | Should -BeNullOrEmpty
    }
}
