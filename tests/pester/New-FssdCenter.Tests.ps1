BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $model = Import-FssdModel
}

Describe 'New-FssdCenter' {
    It 'answers to the name it first had, New-FssCenter, and is found by noun' {
        (Get-Command New-FssCenter).ResolvedCommandName | Should -Be 'New-FssdCenter'
        (Get-Command -Module Fssd -Noun Fssd*).Name | Should -Contain 'New-FssdCenter'
        (New-FssCenter -Model $model -NoiseSamples 4 -Seed 1).Samples | Should -Be 4
    }

    It 'averages 100 uniform-noise images per tap by default, reproducibly from the seed' {
        $a = New-FssdCenter -Model $model -Seed 3
        $a | Should -BeOfType ([Fssd.FssCenter])
        $a.Source | Should -Be 'UniformNoise'
        $a.Samples | Should -Be 100
        $a.ModelSha256 | Should -Be $model.Sha256
        $a.Taps.Name | Should -Be $model.Layers.Name
        $a.Taps.Size | Should -Be $model.Layers.FeatureSize
        $b = New-FssdCenter -Model $model -Seed 3
        [Linq.Enumerable]::SequenceEqual([float[]]$a.Taps[2].Vector, [float[]]$b.Taps[2].Vector) | Should -BeTrue
        $c = New-FssdCenter -Model $model -Seed 4
        [Linq.Enumerable]::SequenceEqual([float[]]$a.Taps[2].Vector, [float[]]$c.Taps[2].Vector) | Should -BeFalse
    }

    It 'offers the authors'' noise and records it' {
        $n = New-FssdCenter -Model $model -Noise Authors -NoiseSamples 20
        $n.Source | Should -Be 'AuthorsNoise'
        $n.Samples | Should -Be 20
    }

    It 'takes the mean feature of given inputs, and noise scores near its own center' {
        $samples = Get-FssdSample MNIST -First 50
        $center = $samples | New-FssdCenter -Model $model
        $center.Source | Should -Be 'Inputs'
        $center.Samples | Should -Be 50
        $center.Seed | Should -BeNullOrEmpty
    }
}
