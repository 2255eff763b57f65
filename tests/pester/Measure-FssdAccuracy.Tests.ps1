BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Measure-FssdAccuracy' {
    It 'measures the default model at 91% or more on FashionMNIST''s 10,000 test images' {
        $a = Measure-FssdAccuracy FashionMNIST/test
        Write-Host ("    default model on FashionMNIST test: {0:P2} ({1}/{2}) in {3:F1} s" -f $a.Accuracy, $a.Correct, $a.Count, $a.Seconds)
        $a | Should -BeOfType ([Fssd.FssdAccuracy])
        $a.Count | Should -Be 10000
        $a.Accuracy | Should -BeGreaterOrEqual 0.91
        $a.Model | Should -Be 'fashion-mnist-lenet'
    }

    It 'counts per class, and the classes add up to the whole' {
        $a = Measure-FssdAccuracy (Get-FssdDataset FashionMNIST -Split test -First 1000)
        $a.PerClass | Should -HaveCount 10
        ($a.PerClass | Measure-Object Count -Sum).Sum | Should -Be 1000
        ($a.PerClass | Measure-Object Correct -Sum).Sum | Should -Be $a.Correct
        $a.PerClass[1].ClassName | Should -Be 'Trouser'
    }

    It 'agrees with predictions counted one by one' {
        $samples = Get-FssdSample FashionMNIST/test -First 200
        $right = ($samples | Get-FssdPrediction | Where-Object { $_.PredictedClass -eq $_.TrueClass }).Count
        (Measure-FssdAccuracy (Get-FssdDataset FashionMNIST -Split test -First 200)).Correct | Should -Be $right
    }

    It 'refuses a dataset without labels' {
        $d = Get-ChildItem (Join-Path $RepoRoot 'examples/samples') -Filter *.png | Get-FssdDataset
        Measure-FssdAccuracy $d -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'no labels'
    }
}
