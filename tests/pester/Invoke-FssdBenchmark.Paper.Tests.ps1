BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-paper-benchmarks-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    # The small configuration of the Slow tier: every method, its classifiers trained one epoch on 300
    # images and shared by the three benchmarks through one model folder; 20 + 20 validation images.
    # The fast tier runs the methods that train nothing but the benchmark's own classifier.
    $script:small = @{
        ValidationCount = 20; EnsembleMembers = 2; EnsembleEpochs = 1; TrainingCount = 300; OutlierExposureEpochs = 1
        MahalanobisTrainingCount = 300; Passes = 2; ModelPath = (Join-Path $work 'models')
    }
    $script:allMethods = @('Base', 'ODIN', 'Mahalanobis', 'DeepEnsemble', 'MCDropout', 'OutlierExposure', 'Energy', 'FSSD', 'FSSDOutlierFree')

    function Test-Png([string] $Path) {
        $Path | Should -Exist
        $bytes = [IO.File]::ReadAllBytes($Path)
        $bytes.Length | Should -BeGreaterThan 5000
        $bytes[1..3] | Should -Be @(0x50, 0x4E, 0x47)
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Invoke-FssdBenchmark FashionMnistCorrupted, fast' -Tag 'RealData' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistCorrupted -Method Base, Energy, FSSD -ValidationCount 20 -CorruptionCount 20 `
            -Corruption GaussianNoise, ImpulseNoise, Jpeg -ReportPath (Join-Path $work 'corrupted-fast')
        Write-Host ("    FashionMnistCorrupted (fast) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
    }

    It 'scores every kind and level for each method asked, writes the table and the Figure 4 chart' {
        $rows.Method | Should -Be @('Base', 'Energy', 'FSSD')
        foreach ($r in $rows) {
            $r.Robustness | Should -HaveCount 15
            foreach ($c in $r.Robustness) { $c.AUROC | Should -BeGreaterOrEqual 0; $c.AUROC | Should -BeLessOrEqual 1 }
        }
        $text = Get-Content (Join-Path $work 'corrupted-fast/report.md') -Raw
        $text | Should -Match '\| Jpeg \| 5 \| 5 \|'
        Test-Png (Join-Path $work 'corrupted-fast/corruption-levels.png')
    }

    It 'finds the strongest noise easier to detect than the weakest' {
        foreach ($kind in 'GaussianNoise', 'ImpulseNoise') {
            $c = $rows.Robustness | Where-Object Corruption -eq $kind
            $low = ($c | Where-Object Level -eq 1 | Measure-Object AUROC -Average).Average
            $high = ($c | Where-Object Level -eq 5 | Measure-Object AUROC -Average).Average
            $high | Should -BeGreaterThan $low -Because "$kind at level 5 is further from the clean image"
        }
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistHeldOutClasses, fast' -Tag 'RealData' {
    It 'trains a five-class LeNet per half and reports both halves with per-tap histograms' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistHeldOutClasses -Method Base -ValidationCount 10 -TestCount 20 -ClassifierEpochs 1 -TrainingCount 200 `
            -ModelPath (Join-Path $work 'models-fast') -ReportPath (Join-Path $work 'heldout-fast')
        Write-Host ("    FashionMnistHeldOutClasses (fast) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        $rows | Should -HaveCount 2
        ($rows | Sort-Object Variant -Unique).Variant | Should -Be @('in 0-4, out 5-9', 'in 5-9, out 0-4')
        foreach ($r in $rows) { $r.AUROC | Should -BeGreaterOrEqual 0; $r.AUROC | Should -BeLessOrEqual 1 }
        Test-Png (Join-Path $work 'heldout-fast/in-5-9-out-0-4-fssd-fc1.png')
        Test-Png (Join-Path $work 'heldout-fast/in-0-4-out-5-9-fssd-conv1.png')
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistVsKana, fast' -Tag 'RealData' {
    It 'reports Kana as the OoD set, FSSD well above chance' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistVsKana -Method Base, FSSD, FSSDOutlierFree -ValidationCount 20 -TestCount 50 -ReportPath (Join-Path $work 'kana-fast')
        Write-Host ("    FashionMnistVsKana (fast) ran in {0:F0} s: {1}" -f $clock.Elapsed.TotalSeconds, (($rows | ForEach-Object { '{0} {1:P1}' -f $_.Method, $_.AUROC }) -join ', '))
        $rows.Method | Should -Be @('Base', 'FSSD', 'FSSDOutlierFree')
        ($rows | Where-Object Method -eq 'FSSD').AUROC | Should -BeGreaterThan 0.8 -Because 'printed hiragana are far from clothing for the default model'
        (Get-Content (Join-Path $work 'kana-fast/report.md') -Raw) | Should -Match 'FashionMNIST vs\. Kana'
        Test-Png (Join-Path $work 'kana-fast/fssd-logits.png')
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistVsMnist on the shared method suite, fast' -Tag 'RealData' {
    It 'still runs the robustness experiment with the methods it calibrated, and writes its charts' {
        $rows = Invoke-FssdBenchmark FashionMnistVsMnist -Method Base, FSSD -ValidationCount 20 -TestCount 50 -Robustness -RobustnessCount 20 `
            -ReportPath (Join-Path $work 'mnist-fast')
        $rows.Method | Should -Be @('Base', 'FSSD')
        ($rows | Where-Object Method -eq 'FSSD').PaperAUROC | Should -Be 0.996
        foreach ($r in $rows) {
            $r.Robustness | Should -HaveCount 11
            $r.Robustness | ForEach-Object { $_.AUROC | Should -BeGreaterOrEqual 0; $_.AUROC | Should -BeLessOrEqual 1 }
        }
        foreach ($png in 'roc.png', 'fssd-fc1.png', 'fssd-ensemble.png', 'robustness-GaussianNoise.png') { Test-Png (Join-Path $work "mnist-fast/$png") }
        (Get-Content (Join-Path $work 'mnist-fast/report.md') -Raw) | Should -Match 'FashionMNIST vs\. MNIST \(LeNet\)'
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistCorrupted, every method, small' -Tag 'RealData', 'Slow' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistCorrupted @small -CorruptionCount 30 -Corruption GaussianNoise, ImpulseNoise, Jpeg, Rotate `
            -ReportPath (Join-Path $work 'corrupted')
        Write-Host ("    FashionMnistCorrupted (small) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        foreach ($r in $rows) {
            Write-Host ("    {0,-16} mean AUROC {1,7:P1}; Gaussian noise by level {2}" -f $r.Method, $r.AUROC,
                (($r.Robustness | Where-Object Corruption -eq 'GaussianNoise' | ForEach-Object { '{0:P0}' -f $_.AUROC }) -join ' '))
        }
    }

    It 'has every method, each with an AUROC per kind and level in [0, 1]' {
        $rows.Method | Should -Be $allMethods
        foreach ($r in $rows) {
            $r.Benchmark | Should -Be 'FashionMnistCorrupted'
            $r.InCount | Should -Be 30
            $r.OutCount | Should -Be (30 * 4 * 5)
            $r.Robustness | Should -HaveCount 20
            ($r.Robustness | Sort-Object Corruption -Unique).Corruption | Should -Be @('GaussianNoise', 'ImpulseNoise', 'Jpeg', 'Rotate')
            foreach ($c in $r.Robustness) {
                $c.AUROC | Should -BeGreaterOrEqual 0
                $c.AUROC | Should -BeLessOrEqual 1
            }
            # The row's AUROC is the mean over kinds and levels.
            $r.AUROC | Should -BeLessOrEqual 1
            [Math]::Abs($r.AUROC - ($r.Robustness | Measure-Object AUROC -Average).Average) | Should -BeLessThan 1e-9
        }
        ($rows | Where-Object Method -eq 'Mahalanobis').Robustness[0].Severity | Should -Be 0.08
    }

    It 'finds stronger noise easier to detect' {
        foreach ($kind in 'GaussianNoise', 'ImpulseNoise') {
            $at = { param($level) ($rows.Robustness | Where-Object { $_.Corruption -eq $kind -and $_.Level -eq $level } | Measure-Object AUROC -Average).Average }
            $low = & $at 1
            $high = & $at 5
            Write-Host ("    {0}: mean AUROC over methods {1:P1} at level 1, {2:P1} at level 5" -f $kind, $low, $high)
            $high | Should -BeGreaterThan ($low + 0.05) -Because "$kind at level 5 is further from the clean image than at level 1"
            # Most methods, not one, see the difference.
            $rising = @($rows | Where-Object {
                    $r = $_.Robustness | Where-Object Corruption -eq $kind
                    ($r | Where-Object Level -eq 5).AUROC -gt ($r | Where-Object Level -eq 1).AUROC })
            $rising.Count | Should -BeGreaterOrEqual 6
        }
    }

    It 'writes the report: the kind x level table, the Figure 4 chart and the ROC curves' {
        $report = Join-Path $work 'corrupted/report.md'
        $text = Get-Content $report -Raw
        foreach ($m in $allMethods) { $text | Should -Match "\| $m \|" }
        $text | Should -Match '\| GaussianNoise \| 5 \| 0\.38 \|'
        $text | Should -Match '\| Rotate \| 1 \| 6 \|'
        $text | Should -Match 'corruption-levels\.png'
        Test-Png (Join-Path $work 'corrupted/corruption-levels.png')
        Test-Png (Join-Path $work 'corrupted/roc.png')
    }

    It 'refuses a corruption it does not know, and -Corruption on another benchmark' {
        { Invoke-FssdBenchmark FashionMnistCorrupted -Corruption Hail -ErrorAction Stop } | Should -Throw '*no corruption ''Hail''*'
        { Invoke-FssdBenchmark FashionMnistVsKana -Corruption Fog -ErrorAction Stop } | Should -Throw '*-Corruption belongs to FashionMnistCorrupted*'
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistHeldOutClasses, every method, small' -Tag 'RealData', 'Slow' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistHeldOutClasses @small -TestCount 30 -ClassifierEpochs 1 -ReportPath (Join-Path $work 'heldout')
        Write-Host ("    FashionMnistHeldOutClasses (small) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        foreach ($r in $rows) { Write-Host ("    {0,-16} {1,-16} AUROC {2,7:P1}" -f $r.Variant, $r.Method, $r.AUROC) }
    }

    It 'has every method for both halves, with AUROCs in [0, 1]' {
        $rows | Should -HaveCount 18
        ($rows | Where-Object Variant -eq 'in 0-4, out 5-9').Method | Should -Be $allMethods
        ($rows | Where-Object Variant -eq 'in 5-9, out 0-4').Method | Should -Be $allMethods
        foreach ($r in $rows) {
            $r.InCount | Should -Be 30
            $r.OutCount | Should -Be 30
            $r.AUROC | Should -BeGreaterOrEqual 0
            $r.AUROC | Should -BeLessOrEqual 1
        }
    }

    It 'trains one five-class classifier per half, named by classes, content and seed, and reuses it' {
        $models = Get-ChildItem (Join-Path $work 'models') -Filter 'fmnist-c*.yaml'
        $main = $models.Name | Where-Object { $_ -match '^fmnist-c(01234|56789)-lenet-[0-9a-f]{8}-seed1-e1-n300\.yaml$' }
        $main | Should -HaveCount 2
        $models.Name | Where-Object { $_ -match '^fmnist-c01234-lenet-[0-9a-f]{8}-seed2-e1-n300\.yaml$' } | Should -HaveCount 1
        (Get-Content (Join-Path $work "models/$($main[0])") -Raw) | Should -Match 'Coat|Sandal'
        $written = @{}
        Get-ChildItem (Join-Path $work 'models') -File | ForEach-Object { $written[$_.Name] = $_.LastWriteTimeUtc }
        $again = Invoke-FssdBenchmark FashionMnistHeldOutClasses @small -TestCount 30 -ClassifierEpochs 1 -Method Base
        Get-ChildItem (Join-Path $work 'models') -File | ForEach-Object { $_.LastWriteTimeUtc | Should -Be $written[$_.Name] -Because $_.Name }
        $again.AUROC | Should -Be ($rows | Where-Object Method -eq 'Base').AUROC
    }

    It 'writes a report with a section and per-tap FSSD histograms (Figure 6) for each half' {
        $text = Get-Content (Join-Path $work 'heldout/report.md') -Raw
        $text | Should -Match '## in 0-4, out 5-9'
        $text | Should -Match '## in 5-9, out 0-4'
        foreach ($half in 'in-0-4-out-5-9', 'in-5-9-out-0-4') {
            foreach ($png in 'roc.png', 'fssd-conv1.png', 'fssd-conv2.png', 'fssd-fc1.png', 'fssd-logits.png', 'fssd-ensemble.png') {
                Test-Png (Join-Path $work "heldout/$half-$png")
            }
        }
    }
}

Describe 'Invoke-FssdBenchmark FashionMnistVsKana, every method, small' -Tag 'RealData', 'Slow' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark FashionMnistVsKana @small -TestCount 30 -ReportPath (Join-Path $work 'kana')
        Write-Host ("    FashionMnistVsKana (small) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        foreach ($r in $rows) { Write-Host ("    {0,-16} AUROC {1,7:P1}" -f $r.Method, $r.AUROC) }
    }

    It 'has every method with AUROCs in [0, 1] and no paper figures' {
        $rows.Method | Should -Be $allMethods
        foreach ($r in $rows) {
            $r.Benchmark | Should -Be 'FashionMnistVsKana'
            $r.OutCount | Should -Be 30
            $r.AUROC | Should -BeGreaterOrEqual 0
            $r.AUROC | Should -BeLessOrEqual 1
            $r.PaperAUROC | Should -BeNullOrEmpty
        }
    }

    It 'writes a report that says outlier exposure saw Kana, with its charts' {
        $text = Get-Content (Join-Path $work 'kana/report.md') -Raw
        $text | Should -Match 'FashionMNIST vs\. Kana'
        $text | Should -Match 'Outlier exposure was fine-tuned with the Kana training split'
        foreach ($png in 'roc.png', 'fssd-conv1.png', 'fssd-ensemble.png') { Test-Png (Join-Path $work "kana/$png") }
    }
}

Describe 'Invoke-FssdBenchmark Concentration, small' -Tag 'RealData' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $rows = Invoke-FssdBenchmark Concentration -Step 0, 30, 120 -SampleCount 200 -TrainingCount 2000 -ReportPath (Join-Path $work 'concentration')
        Write-Host ("    Concentration (small) ran in {0:F0} s" -f $clock.Elapsed.TotalSeconds)
        foreach ($r in $rows) {
            Write-Host ("    step {0,4} {1,-7} FSSD in {2,9:G4} OoD {3,9:G4}; moved in {4,9:G4} OoD {5,9:G4}; AUROC {6:P1}; accuracy {7:P1}" -f
                $r.Step, $r.Tap, $r.FssdIn, $r.FssdOut, $r.MovedIn, $r.MovedOut, $r.AUROC, $r.Accuracy)
        }
    }

    It 'records both taps at every step asked' {
        $rows | Should -HaveCount 6
        ($rows | Where-Object Tap -eq 'fc1').Step | Should -Be @(0, 30, 120)
        ($rows | Where-Object Tap -eq 'logits').Step | Should -Be @(0, 30, 120)
        foreach ($r in $rows) {
            $r.InCount | Should -Be 200
            $r.OutCount | Should -Be 200
        }
        ($rows | Where-Object Step -eq 0).MovedIn | Should -Be @(0, 0)
        ($rows | Where-Object Step -eq 120)[0].Accuracy | Should -BeGreaterThan 0.8 -Because 'the LeNet learns the digits'
    }

    It 'shows the phenomenon: in-distribution FSSD grows faster than OoD FSSD, and in-distribution features move further' {
        foreach ($tap in 'fc1', 'logits') {
            $start = $rows | Where-Object { $_.Tap -eq $tap -and $_.Step -eq 0 }
            $end = $rows | Where-Object { $_.Tap -eq $tap -and $_.Step -eq 120 }
            ($end.FssdIn - $start.FssdIn) | Should -BeGreaterThan ($end.FssdOut - $start.FssdOut) -Because "at $tap"
            ($end.FssdIn / $end.FssdOut) | Should -BeGreaterThan ($start.FssdIn / $start.FssdOut) -Because "at $tap"
            $end.MovedIn | Should -BeGreaterThan $end.MovedOut -Because "at $tap"
            $end.SpeedIn | Should -BeGreaterThan $end.SpeedOut -Because "at $tap"
        }
    }

    It 'writes the report with the principal components at every step and the FSSD over training' {
        $text = Get-Content (Join-Path $work 'concentration/report.md') -Raw
        $text | Should -Match '\| 120 \| logits \|'
        foreach ($png in 'components-step0.png', 'components-step30.png', 'components-step120.png', 'fssd-over-training-fc1.png', 'speed-logits.png', 'fssd-logits-step120.png') {
            Test-Png (Join-Path $work "concentration/$png")
        }
    }
}
