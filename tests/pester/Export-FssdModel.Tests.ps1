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

    It 'is not fooled by temporary files a failed export left behind' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        $clean = Join-Path $work 'clean'
        $stale = Join-Path $work 'stale'
        $null = New-Item -ItemType Directory -Path $stale -Force
        # What earlier versions' fixed temporary names would have left, larger than the real weights.
        $junk = [byte[]]::new(8MB); [Random]::new(3).NextBytes($junk)
        [IO.File]::WriteAllBytes((Join-Path $stale 'stale.safetensors.tmp'), $junk)
        [IO.File]::WriteAllBytes((Join-Path $stale '.stale.safetensors.0123456789abcdef.tmp'), $junk)
        $m | Export-FssdModel -Path $clean -Name stale | Out-Null
        $m | Export-FssdModel -Path $stale -Name stale | Out-Null
        (Get-FileHash (Join-Path $stale 'stale.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $clean 'stale.safetensors')).Hash
        (Import-FssdModel (Join-Path $stale 'stale.yaml')).Sha256 | Should -Be (Get-FileHash (Join-Path $clean 'stale.safetensors')).Hash.ToLowerInvariant()
    }

    It 'leaves the previous export whole and no temporary file when the disk is full' -Skip:(-not $IsLinux) {
        $disk = Join-Path $work 'full-disk'
        $null = New-Item -ItemType Directory -Path $disk -Force
        & mount -t tmpfs -o size=1m tmpfs $disk 2>$null
        if ($LASTEXITCODE -ne 0) { Set-ItResult -Skipped -Because 'a 1 MB tmpfs cannot be mounted here (needs root)'; return }
        try {
            $small = Import-FssdModel (Join-Path $fixtures 'mlp7.scripted.pt') -Architecture TorchScript -InputSize 4, 4 -ColorMode Gray
            $small | Export-FssdModel -Path $disk -Name model | Out-Null
            $before = Get-FileHash (Join-Path $disk 'model.pt')
            # LeNet's 4.8 MB of weights do not fit in 1 MB: the export fails and names the folder.
            $lenet = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet -Name model
            $lenet | Export-FssdModel -Path $disk -Name model -Force -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $failed | Should -HaveCount 1
            $failed[0].FullyQualifiedErrorId | Should -Match '^FssdWriteFailed'
            @(Get-ChildItem -LiteralPath $disk -Force -Filter '*.tmp') | Should -BeNullOrEmpty
            (Get-FileHash (Join-Path $disk 'model.pt')).Hash | Should -Be $before.Hash
            (Import-FssdModel (Join-Path $disk 'model.yaml')).Layers.Count | Should -Be 7
        } finally {
            & umount $disk
        }
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

    It 'never frees a model under a scorer that is using it: the removal takes effect when the scorer is done' {
        $files = @(Get-ChildItem (Join-Path $RepoRoot 'examples/samples') -Filter *.png | ForEach-Object FullName)
        $many = 1..3000 | ForEach-Object { $files[$_ % $files.Count] }
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet -Name busy
        $center = New-FssdCenter -Model $m -NoiseSamples 10
        $expected = ($files | Measure-Fssd -Model $m -Center $center).Score
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($module, $paths, $model, $center)
            Import-Module $module
            $paths | Measure-Fssd -Model $model -Center $center -Epsilon 0.01 -BatchSize 32
        }).AddArgument($ModulePath).AddArgument($many).AddArgument($m).AddArgument($center)
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $async = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $output)
        $deadline = [DateTime]::UtcNow.AddMinutes(2)
        while ($output.Count -lt 100 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $output.Count | Should -BeGreaterOrEqual 100
        $output.Count | Should -BeLessThan 3000 -Because 'the removal must happen while the scorer runs'
        Remove-FssdModel -All
        (Get-FssdContext).Models.Id | Should -Not -Contain $m.Id
        $null = $ps.EndInvoke($async)
        $ps.Streams.Error | Should -BeNullOrEmpty
        $output | Should -HaveCount 3000
        $ps.Dispose()
        { Measure-Fssd -Path $files[0] -Model $m -Center $center -ErrorAction Stop } | Should -Throw '*no longer loaded*'
        $expected | Should -HaveCount $files.Count
    }

    It 'frees all models with -All' {
        $null = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        Remove-FssdModel -All
        (Get-FssdContext).Models | Should -BeNullOrEmpty
    }
}
