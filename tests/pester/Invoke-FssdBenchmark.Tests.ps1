BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-benchmark-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Invoke-FssdBenchmark FashionMnistVsMnist, end to end' -Tag 'RealData', 'Slow' {
    BeforeAll {
        # The paper's protocol (1,000 + 1,000 validation images, every method calibrated on them), made to
        # fit CI: 1,000 + 1,000 test images, ensemble members and outlier exposure trained one epoch on
        # 10,000 images, Mahalanobis fitted on 10,000, robustness on 200 + 200. docs/benchmarks.md quotes a full run.
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistVsMnist -TestCount 1000 -EnsembleEpochs 1 -TrainingCount 10000 -OutlierExposureEpochs 1 `
            -MahalanobisTrainingCount 10000 -Robustness -RobustnessCount 200 -ReportPath (Join-Path $work 'report') -ModelPath (Join-Path $work 'models')
        Write-Host ("    benchmark ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        foreach ($r in $rows) {
            Write-Host ("    {0,-16} AUROC {1,7:P2} (paper {2}), AUPRC {3,7:P2}, FPR80 {4,7:P2}, {5,4:F0} s (+{6:F0} s training); {7}" -f $r.Method, $r.AUROC,
                $(if ($null -ne $r.PaperAUROC) { '{0:P1}' -f $r.PaperAUROC } else { '-' }), $r.AUPRC, $r.FPR80, $r.Seconds, $r.TrainingSeconds, $r.Settings)
        }
        foreach ($r in $rows) {
            Write-Host ("    {0,-16} robustness AUROC: {1}" -f $r.Method, (($r.Robustness | ForEach-Object { '{0}{1} {2:P1}' -f $_.Corruption.Substring(0, 1), $_.Level, $_.AUROC }) -join ', '))
        }
        $byMethod = @{}
        foreach ($r in $rows) { $byMethod[$r.Method] = $r }
    }

    It 'has every method''s row with real values, the paper''s figures beside them' {
        $rows.Method | Should -Be @('Base', 'ODIN', 'Mahalanobis', 'DeepEnsemble', 'MCDropout', 'OutlierExposure', 'Energy', 'FSSD')
        foreach ($r in $rows) {
            $r.InCount | Should -Be 1000
            $r.OutCount | Should -Be 1000
            $r.AUROC | Should -BeGreaterThan 0.5 -Because "$($r.Method) separates the classes better than chance"
            $r.AUROC | Should -BeLessOrEqual 1
            $r.AUPRC | Should -BeGreaterThan 0
            $r.Seconds | Should -BeGreaterThan 0
        }
        ($rows | Where-Object { $null -ne $_.PaperAUROC }).Method | Should -Be @('Base', 'ODIN', 'Mahalanobis', 'DeepEnsemble', 'MCDropout', 'OutlierExposure', 'FSSD')
        $byMethod['FSSD'].PaperAUROC | Should -Be 0.996
        $byMethod['DeepEnsemble'].Settings | Should -Match '^5 classifiers'
    }

    It 'finds what the paper found: FSSD at AUROC >= 0.99, above Base and ODIN' {
        $byMethod['FSSD'].AUROC | Should -BeGreaterOrEqual 0.99
        $byMethod['FSSD'].AUROC | Should -BeGreaterThan $byMethod['Base'].AUROC
        $byMethod['FSSD'].AUROC | Should -BeGreaterThan $byMethod['ODIN'].AUROC
    }

    It 'reports AUROC at five levels of both noises for every method, models and calibration unchanged' {
        foreach ($r in $rows) {
            $r.Robustness | Should -HaveCount 11
            ($r.Robustness | Where-Object Corruption -eq 'GaussianNoise').Level | Should -Be @(1, 2, 3, 4, 5)
            ($r.Robustness | Where-Object Corruption -eq 'ImpulseNoise').Severity | Should -Be @(0.03, 0.06, 0.09, 0.17, 0.27)
            $r.Robustness | ForEach-Object { $_.AUROC | Should -BeGreaterOrEqual 0; $_.AUROC | Should -BeLessOrEqual 1 }
        }
    }

    It 'writes a report with the table and PNG charts' {
        $report = Join-Path $work 'report/report.md'
        $report | Should -Exist
        $text = Get-Content $report -Raw
        foreach ($m in $rows.Method) { $text | Should -Match "\| $m \|" }
        $text | Should -Match 'roc.png'
        foreach ($png in 'roc.png', 'fssd-conv1.png', 'fssd-fc1.png', 'fssd-ensemble.png', 'robustness-GaussianNoise.png', 'robustness-ImpulseNoise.png') {
            $file = Join-Path $work "report/$png"
            $file | Should -Exist
            $bytes = [IO.File]::ReadAllBytes($file)
            $bytes.Length | Should -BeGreaterThan 10000
            $bytes[1..3] | Should -Be @(0x50, 0x4E, 0x47)   # PNG
        }
    }

    It 'reuses the classifiers it trained when run again' {
        $models = Get-ChildItem (Join-Path $work 'models') -Filter *.yaml
        $models.Name | Should -Contain 'fmnist-lenet-seed2-e1-n10000.yaml'
        $models.Name | Should -Contain 'fmnist-lenet-oe-kana-e1-n10000.yaml'
        $written = @{}
        Get-ChildItem (Join-Path $work 'models') -File | ForEach-Object { $written[$_.Name] = $_.LastWriteTimeUtc }
        $again = Invoke-FssdBenchmark FashionMnistVsMnist -Method DeepEnsemble -TestCount 1000 -EnsembleEpochs 1 -TrainingCount 10000 `
            -ModelPath (Join-Path $work 'models')
        # Nothing was trained again: every classifier file is the one the first run wrote.
        Get-ChildItem (Join-Path $work 'models') -File | ForEach-Object { $_.LastWriteTimeUtc | Should -Be $written[$_.Name] -Because $_.Name }
        $again.AUROC | Should -Be $byMethod['DeepEnsemble'].AUROC
    }
}

Describe 'Export-FssdHistogram' {
    It 'draws two score sets as a PNG and refuses scores it cannot read' {
        $file = Export-FssdHistogram (1..200 | ForEach-Object { $_ / 10 }) (1..200 | ForEach-Object { $_ / 25 }) -Path (Join-Path $work 'h.png') -Title 'two sets'
        $file | Should -BeOfType ([IO.FileInfo])
        $file.Length | Should -BeGreaterThan 5000
        { Export-FssdHistogram @('x') @(1) -Path (Join-Path $work 'bad.png') -ErrorAction Stop } | Should -Throw '*neither a number*'
    }
}
