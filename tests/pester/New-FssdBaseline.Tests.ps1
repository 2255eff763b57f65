BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $model = Import-FssdModel
    # 200 + 200 validation images: enough to calibrate, small enough to keep the file quick.
    $valIn = @(Get-FssdSample FashionMNIST/test -First 200)
    $valOut = @(Get-FssdSample MNIST -First 200)
    $testIn = @(Get-FssdSample FashionMNIST/test -Skip 200 -First 300)
    $testOut = @(Get-FssdSample MNIST -Skip 200 -First 300)
}

Describe 'New-FssdBaseline' -Tag 'RealData', 'Slow' {
    It 'Base scores each input by its maximum softmax probability, the classifier''s own confidence' {
        $base = New-FssdBaseline Base -InDistribution $valIn -OutOfDistribution $valOut
        $base.Method | Should -Be 'Base'
        $base.Trials | Should -HaveCount 1
        $scores = $testIn[0..9] | Measure-Fssd -Baseline $base
        $scores | Should -HaveCount 10
        foreach ($s in $scores) {
            $s.Method | Should -Be 'Base'
            [Math]::Abs($s.Score - $s.Confidence) | Should -BeLessOrEqual 1e-6
            $s.IsOutOfDistribution | Should -Be ($s.Score -lt $base.Threshold)
        }
    }

    It 'ODIN tries every temperature and step of the paper''s grid and keeps the one with the best TNR at 95% TPR' {
        $odin = New-FssdBaseline ODIN -InDistribution $valIn -OutOfDistribution $valOut
        $odin.Trials | Should -HaveCount 84
        ($odin.Trials.Temperature | Sort-Object -Unique) | Should -Be @(1, 10, 100, 1000)
        ($odin.Trials.Epsilon | Measure-Object -Maximum).Maximum | Should -Be 0.2
        $chosen = @($odin.Trials | Where-Object Chosen)
        $chosen | Should -HaveCount 1
        $chosen[0].TnrAt95Tpr | Should -Be ($odin.Trials | Measure-Object TnrAt95Tpr -Maximum).Maximum
        $chosen[0].Temperature | Should -Be $odin.Temperature
        $chosen[0].Epsilon | Should -Be $odin.Epsilon
        $in = $testIn | Measure-Fssd -Baseline $odin
        $out = $testOut | Measure-Fssd -Baseline $odin
        $metrics = Get-FssdMetrics $in $out -Method ODIN
        Write-Host ("    ODIN T {0}, eps {1}: AUROC {2:P2} on 300 + 300 test images" -f $odin.Temperature, $odin.Epsilon, $metrics.AUROC)
        $metrics.AUROC | Should -BeGreaterThan 0.5
    }

    It 'Energy and MC Dropout calibrate and score; MC Dropout picks mean or variance and reproduces its scores' {
        $energy = New-FssdBaseline Energy -InDistribution $valIn -OutOfDistribution $valOut
        $energy.Trials | Should -HaveCount 1
        $metrics = Get-FssdMetrics ($testIn | Measure-Fssd -Baseline $energy) ($testOut | Measure-Fssd -Baseline $energy) -Method Energy
        Write-Host ("    Energy: AUROC {0:P2} on 300 + 300 test images" -f $metrics.AUROC)
        $metrics.AUROC | Should -BeGreaterThan 0.8
        $mc = New-FssdBaseline MCDropout -InDistribution $valIn[0..99] -OutOfDistribution $valOut[0..99] -Passes 8
        $mc.Trials.Statistic | Should -Be @('Mean', 'Variance')
        $mc.Statistic | Should -BeIn @('Mean', 'Variance')
        $mc.Passes | Should -Be 8
        $a = $testIn[0..19] | Measure-Fssd -Baseline $mc
        $b = $testIn[0..19] | Measure-Fssd -Baseline $mc
        for ($i = 0; $i -lt 20; $i++) { $a[$i].Score | Should -Be $b[$i].Score }
    }

    It 'Mahalanobis fits class Gaussians per tap on training data and weighs the taps by logistic regression' {
        $maha = New-FssdBaseline Mahalanobis -InDistribution $valIn -OutOfDistribution $valOut -TrainingSet FashionMNIST/train -TrainingCount 3000
        $maha.Layers.Name | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
        $maha.Trials | Should -HaveCount 21
        $maha.TrainingSource | Should -Match '3000 images'
        $scores = $testOut[0..9] | Measure-Fssd -Baseline $maha
        $scores[0].LayerScores.Keys | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
        # The score is the regression over the per-tap scores, as the layers say.
        $s = $scores[0]
        $expected = $maha.Intercept
        foreach ($l in $maha.Layers) { $expected += $l.Weight * ($s.LayerScores[$l.Name] - $l.Mean) / $l.Std }
        [Math]::Abs($s.Score - $expected) | Should -BeLessOrEqual (1e-9 * [Math]::Max(1, [Math]::Abs($expected)))
    }

    It 'refuses what it cannot do, naming the cause' {
        { New-FssdBaseline Mahalanobis -InDistribution $valIn -OutOfDistribution $valOut -ErrorAction Stop } | Should -Throw '*training set*'
        { New-FssdBaseline DeepEnsemble -InDistribution $valIn -OutOfDistribution $valOut -ErrorAction Stop } | Should -Throw '*several*'
        $base = New-FssdBaseline Base -InDistribution $valIn -OutOfDistribution $valOut
        { $testIn[0] | Measure-Fssd -Baseline $base -Epsilon 0.01 -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Fssd.PowerShell.Commands.MeasureFssdCommand'
    }

    It 'saves a Mahalanobis detector with its class Gaussians, and a new session scores the same files identically from the file' {
        $maha = New-FssdBaseline Mahalanobis -InDistribution $valIn -OutOfDistribution $valOut -TrainingSet FashionMNIST/train -TrainingCount 2000 -Layer fc1, logits
        $maha.Gaussians | Should -HaveCount 2
        $folder = Join-Path ([IO.Path]::GetTempPath()) "fssd-maha-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $folder
        try {
            $testIn[0..9] + $testOut[0..9] | Export-FssdDataset -Path $folder | Out-Null
            $files = @(Get-ChildItem -LiteralPath $folder -Recurse -Filter *.png | Sort-Object FullName | ForEach-Object FullName)
            $files.Count | Should -Be 20
            $here = ($files | Measure-Fssd -Detector $maha).Score
            $file = $maha | Export-FssdDetector -Path (Join-Path $folder 'maha.fssd.yaml')
            $there = Invoke-FreshPwsh -Script @"
Import-Module '$ModulePath'
`$d = Import-FssdDetector '$($file.FullName)'
if (`$d.Method -ne 'Mahalanobis' -or `$d.Gaussians.Count -ne 2) { throw 'not the detector that was saved' }
'$($files -join "','")'.Split(',') | ForEach-Object { `$_.Trim("'") } | Measure-Fssd -Detector `$d | ForEach-Object { `$_.Score.ToString('R') }
"@
            $there | Should -HaveCount $here.Count
            for ($i = 0; $i -lt $here.Count; $i++) { [double]$there[$i] | Should -Be $here[$i] }
        } finally {
            Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'averages the softmax of several classifiers for DeepEnsemble' {
        $ensemble = New-FssdBaseline DeepEnsemble -Model $model, $model -InDistribution $valIn -OutOfDistribution $valOut
        $ensemble.Models | Should -HaveCount 2
        $single = $testIn[0..9] | Measure-Fssd -Baseline (New-FssdBaseline Base -InDistribution $valIn -OutOfDistribution $valOut)
        $twice = $testIn[0..9] | Measure-Fssd -Baseline $ensemble
        for ($i = 0; $i -lt 10; $i++) { [Math]::Abs($twice[$i].Score - $single[$i].Score) | Should -BeLessOrEqual 1e-6 }
    }
}
