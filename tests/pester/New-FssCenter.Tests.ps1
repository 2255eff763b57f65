BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $model = Import-FssdModel
}

Describe 'New-FssCenter' {
    It 'averages 100 uniform-noise images per tap by default, reproducibly from the seed' {
        $a = New-FssCenter -Model $model -Seed 3
        $a | Should -BeOfType ([Fssd.FssCenter])
        $a.Source | Should -Be 'UniformNoise'
        $a.Samples | Should -Be 100
        $a.ModelSha256 | Should -Be $model.Sha256
        $a.Taps.Name | Should -Be $model.Layers.Name
        $a.Taps.Size | Should -Be $model.Layers.FeatureSize
        $b = New-FssCenter -Model $model -Seed 3
        [Linq.Enumerable]::SequenceEqual([float[]]$a.Taps[2].Vector, [float[]]$b.Taps[2].Vector) | Should -BeTrue
        $c = New-FssCenter -Model $model -Seed 4
        [Linq.Enumerable]::SequenceEqual([float[]]$a.Taps[2].Vector, [float[]]$c.Taps[2].Vector) | Should -BeFalse
    }

    It 'offers the authors'' noise and records it' {
        $n = New-FssCenter -Model $model -Noise Authors -NoiseSamples 20
        $n.Source | Should -Be 'AuthorsNoise'
        $n.Samples | Should -Be 20
    }

    It 'takes the mean feature of given inputs, and noise scores near its own center' {
        $samples = Get-FssdSample MNIST -First 50
        $center = $samples | New-FssCenter -Model $model
        $center.Source | Should -Be 'Inputs'
        $center.Samples | Should -Be 50
        $center.Seed | Should -BeNullOrEmpty
    }
}
