BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-ensemble-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'FSSD-Ensem calibrated on FashionMNIST and MNIST validation images (the paper''s Table 2 setting)' -Tag 'RealData', 'Slow' {
    BeforeAll {
        Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $work 'fashion')
        Export-FssdDataset -Dataset MNIST -Path (Join-Path $work 'mnist')
        # 1,000 + 1,000 validation images drawn with a fixed seed; the other 9,000 + 9,000 are the test.
        $random = [Random]::new(20261201)
        $fashion = @(Get-ChildItem (Join-Path $work 'fashion') -Recurse -File | Sort-Object { $random.Next() })
        $mnist = @(Get-ChildItem (Join-Path $work 'mnist') -Recurse -File | Sort-Object { $random.Next() })
        $model = Import-FssdModel
        $center = New-FssdCenter -Model $model
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $detector = New-FssdDetector -Model $model -Center $center -InDistribution $fashion[0..999] -OutOfDistribution $mnist[0..999] `
            -Perturbation Standardized
        $calibrated = $clock.Elapsed.TotalSeconds
        $clock.Restart()
        $scoresIn = $fashion[1000..9999] | Measure-Fssd -Detector $detector
        $scoresOut = $mnist[1000..9999] | Measure-Fssd -Detector $detector
        $metrics = Get-FssdMetrics $scoresIn $scoresOut -Method 'FSSD-Ensem'
        Write-Host ("    calibrated over {0} values of eps in {1:F0} s; scored 18,000 files in {2:F0} s; chose eps {3}, C {4:G3}" -f
            $detector.Trials.Count, $calibrated, $clock.Elapsed.TotalSeconds, $detector.Epsilon, $detector.RegularizationC)
        Write-Host ("    test 9,000 + 9,000: AUROC {0:P2}, AUPRC-In {1:P2}, AUPRC-Out {2:P2}, FPR80 {3:P2}, FPR95 {4:P2}, detection error {5:P2}" -f
            $metrics.AUROC, $metrics.AUPRCIn, $metrics.AUPRCOut, $metrics.FPR80, $metrics.FPR95, $metrics.DetectionError)
        Write-Host ("    weights: {0}" -f (($detector.Layers | ForEach-Object { '{0} {1:F3}' -f $_.Name, $_.Weight }) -join ', '))
    }

    It 'reaches AUROC >= 0.99 and FPR80 <= 0.01 on the 9,000 + 9,000 test images (the paper: 99.6 / 0.0)' {
        $metrics.AUROC | Should -BeGreaterOrEqual 0.99
        $metrics.FPR80 | Should -BeLessOrEqual 0.01
        $metrics.InCount | Should -Be 9000
    }

    It 'searches the paper''s grid, 0 to 0.2 in both directions, and records what it found' {
        $detector.Trials | Should -HaveCount 41
        $detector.Trials.Epsilon | Should -Contain -0.2
        $detector.Trials.Epsilon | Should -Contain 0.2
        $best = ($detector.Trials | Measure-Object TnrAt95Tpr -Maximum).Maximum
        ($detector.Trials | Where-Object Epsilon -eq $detector.Epsilon).TnrAt95Tpr | Should -Be $best
        $detector.Calibration | Should -Be 'OodValidation'
        $detector.Layers.Name | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
        $detector.ValidationMetrics.InCount | Should -Be 500
    }

    It 'keeps TargetTpr of the in-distribution test images, within 0.02' {
        $kept = ($scoresIn | Where-Object { -not $_.IsOutOfDistribution }).Count / $scoresIn.Count
        Write-Host ("    kept {0:P2} of the 9,000 FashionMNIST test images (target {1:P0})" -f $kept, $detector.TargetTpr)
        [Math]::Abs($kept - $detector.TargetTpr) | Should -BeLessOrEqual 0.02
    }

    It 'exports, imports and rescores to identical scores' {
        $file = $detector | Export-FssdDetector -Path (Join-Path $work 'ensemble.fssd.yaml')
        $back = Import-FssdDetector $file.FullName
        $back.Trials.Count | Should -Be 41
        $back.ValidationMetrics.AUROC | Should -Be $detector.ValidationMetrics.AUROC
        # The authors' step standardizes the gradient over the batch, so a score depends on its batch:
        # rescore whole batches (2 x 128, the default batch size) in the same order.
        $again = $fashion[1000..1255] | Measure-Fssd -Detector $back
        for ($i = 0; $i -lt 256; $i++) { $again[$i].Score | Should -Be $scoresIn[$i].Score }
    }
}

Describe 'FSSD-Ensem calibrated without OoD data (pseudo-outliers made from FashionMNIST)' -Tag 'RealData', 'Slow' {
    BeforeAll {
        if (-not (Test-Path (Join-Path $work 'fashion'))) {
            Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $work 'fashion')
            Export-FssdDataset -Dataset MNIST -Path (Join-Path $work 'mnist')
        }
        $random = [Random]::new(20261201)
        $fashion = @(Get-ChildItem (Join-Path $work 'fashion') -Recurse -File | Sort-Object { $random.Next() })
        $mnist = @(Get-ChildItem (Join-Path $work 'mnist') -Recurse -File | Sort-Object { $random.Next() })
        $model = Import-FssdModel
        $clock = [Diagnostics.Stopwatch]::StartNew()
        # Everything by default, as the shipped default detector: patch shuffles at three grid sizes,
        # the sign step, eps from 0, +-0.01, +-0.02.
        $free = New-FssdDetector -Model $model -InDistribution $fashion[0..999] -OutlierFree
        $calibrated = $clock.Elapsed.TotalSeconds
        $freeIn = $fashion[1000..9999] | Measure-Fssd -Detector $free
        $freeOut = $mnist[1000..9999] | Measure-Fssd -Detector $free
        $freeMetrics = Get-FssdMetrics $freeIn $freeOut -Method 'FSSD-Ensem, outlier-free'
        Write-Host ("    calibrated in {0:F0} s without OoD data: {1}, eps {2}, C {3:G3}" -f $calibrated, $free.Calibration, $free.Epsilon, $free.RegularizationC)
        Write-Host ("    weights: {0}" -f (($free.Layers | ForEach-Object { '{0} {1:F3}' -f $_.Name, $_.Weight }) -join ', '))
        $free.Trials | ForEach-Object { Write-Host ("      eps {0,5}: TNR at 95% TPR {1:P2}, AUROC {2:P2} (held-out pseudo-outliers)" -f $_.Epsilon, $_.TnrAt95Tpr, $_.AUROC) }
        $free.PseudoOutliers | ForEach-Object { Write-Host ("      {0,-13} AUROC {1:P2}, rejected {2:P2} of {3}{4}" -f $_.Kind, $_.AUROC, $_.Rejected, $_.Count, $(if ($_.Used) { '  (used)' })) }
        Write-Host ("    against MNIST, 9,000 + 9,000: AUROC {0:P2}, AUPRC-In {1:P2}, AUPRC-Out {2:P2}, FPR80 {3:P2}, FPR95 {4:P2}, detection error {5:P2}" -f
            $freeMetrics.AUROC, $freeMetrics.AUPRCIn, $freeMetrics.AUPRCOut, $freeMetrics.FPR80, $freeMetrics.FPR95, $freeMetrics.DetectionError)
    }

    It 'never sees OoD data: calibrated against patch shuffles, with evidence on every kind' {
        $free.Calibration | Should -Be 'OutlierFree'
        $free.PseudoOutlierKinds | Should -Be @('PatchShuffle2', 'PatchShuffle4', 'PatchShuffle7')
        $free.ValidationCount | Should -Be 1000
        $free.Trials.Epsilon | Should -Be @(0, 0.01, -0.01, 0.02, -0.02)
        $free.PseudoOutliers | Should -HaveCount 7
        ($free.PseudoOutliers | Where-Object Used).Kind | Should -Be @('PatchShuffle2', 'PatchShuffle4', 'PatchShuffle7')
        $free.PseudoOutliers | ForEach-Object { $_.Count } | Sort-Object -Unique | Should -Be 500
        # The held-out patch shuffles are what the detector was fitted to reject: it does, far above chance.
        $free.PseudoOutliers | Where-Object Used | ForEach-Object { $_.AUROC | Should -BeGreaterThan 0.75 }
    }

    It 'separates MNIST it never saw at AUROC >= 0.95' {
        $freeMetrics.AUROC | Should -BeGreaterOrEqual 0.95
    }

    It 'exports, imports and rescores to identical scores, evidence included' {
        $file = $free | Export-FssdDetector -Path (Join-Path $work 'outlier-free.fssd.yaml')
        $back = Import-FssdDetector $file.FullName
        $back.Calibration | Should -Be $free.Calibration
        for ($k = 0; $k -lt 7; $k++) {
            $back.PseudoOutliers[$k].Kind | Should -Be $free.PseudoOutliers[$k].Kind
            $back.PseudoOutliers[$k].AUROC | Should -Be $free.PseudoOutliers[$k].AUROC
            $back.PseudoOutliers[$k].Used | Should -Be $free.PseudoOutliers[$k].Used
        }
        $again = $fashion[1000..1255] | Measure-Fssd -Detector $back
        for ($i = 0; $i -lt 256; $i++) { $again[$i].Score | Should -Be $freeIn[$i].Score }
    }

    It 'keeps TargetTpr of the in-distribution test images, within 0.02' {
        $kept = ($freeIn | Where-Object { -not $_.IsOutOfDistribution }).Count / $freeIn.Count
        Write-Host ("    kept {0:P2} of the 9,000 FashionMNIST test images (target {1:P0})" -f $kept, $free.TargetTpr)
        [Math]::Abs($kept - $free.TargetTpr) | Should -BeLessOrEqual 0.02
    }
}

Describe 'FSSD-Ensem with one shared step for all taps (-PerturbationScope Shared)' -Tag 'RealData', 'Slow' {
    BeforeAll {
        if (-not (Test-Path (Join-Path $work 'fashion'))) {
            Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $work 'fashion')
            Export-FssdDataset -Dataset MNIST -Path (Join-Path $work 'mnist')
        }
        # The same split as the per-tap detectors above.
        $random = [Random]::new(20261201)
        $fashion = @(Get-ChildItem (Join-Path $work 'fashion') -Recurse -File | Sort-Object { $random.Next() })
        $mnist = @(Get-ChildItem (Join-Path $work 'mnist') -Recurse -File | Sort-Object { $random.Next() })
        $model = Import-FssdModel
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $shared = New-FssdDetector -Model $model -InDistribution $fashion[0..999] -OutOfDistribution $mnist[0..999] `
            -Perturbation Standardized -PerturbationScope Shared
        $calibrated = $clock.Elapsed.TotalSeconds
        $clock.Restart()
        $sharedIn = $fashion[1000..9999] | Measure-Fssd -Detector $shared
        $sharedOut = $mnist[1000..9999] | Measure-Fssd -Detector $shared
        $scored = $clock.Elapsed.TotalSeconds
        $sharedMetrics = Get-FssdMetrics $sharedIn $sharedOut -Method 'FSSD-Ensem, shared step'
        Write-Host ("    shared step, OoD-calibrated: calibrated in {0:F0} s, scored 18,000 files in {1:F0} s; eps {2}; step weights {3}" -f
            $calibrated, $scored, $shared.Epsilon, (($shared.StepWeights | ForEach-Object { '{0:G3}' -f $_ }) -join ', '))
        Write-Host ("    test 9,000 + 9,000: AUROC {0:P2}, AUPRC-In {1:P2}, FPR80 {2:P2}, FPR95 {3:P2}" -f
            $sharedMetrics.AUROC, $sharedMetrics.AUPRCIn, $sharedMetrics.FPR80, $sharedMetrics.FPR95)
        $free = New-FssdDetector -Model $model -InDistribution $fashion[0..999] -OutlierFree -PerturbationScope Shared
        $freeIn = $fashion[1000..9999] | Measure-Fssd -Detector $free
        $freeOut = $mnist[1000..9999] | Measure-Fssd -Detector $free
        $freeMetrics = Get-FssdMetrics $freeIn $freeOut -Method 'FSSD-Ensem, outlier-free, shared step'
        Write-Host ("    shared step, outlier-free: eps {0}; against MNIST 9,000 + 9,000: AUROC {1:P2}, FPR80 {2:P2}, FPR95 {3:P2}" -f
            $free.Epsilon, $freeMetrics.AUROC, $freeMetrics.FPR80, $freeMetrics.FPR95)
    }

    It 'records the shared step: one weight per layer, kept through export and import' {
        $shared.PerturbationScope | Should -Be 'Shared'
        $shared.StepWeights | Should -HaveCount 4
        $shared.StepWeights | ForEach-Object { [double]::IsFinite($_) | Should -BeTrue }
        ($shared.StepWeights | Where-Object { $_ -ne 0 }) | Should -Not -BeNullOrEmpty
        $file = $shared | Export-FssdDetector -Path (Join-Path $work 'shared.fssd.yaml')
        $back = Import-FssdDetector $file.FullName
        $back.PerturbationScope | Should -Be 'Shared'
        for ($k = 0; $k -lt 4; $k++) { $back.StepWeights[$k] | Should -Be $shared.StepWeights[$k] }
        $again = $fashion[1000..1255] | Measure-Fssd -Detector $back
        for ($i = 0; $i -lt 256; $i++) { $again[$i].Score | Should -Be $sharedIn[$i].Score }
    }

    It 'reaches AUROC >= 0.99 against MNIST when calibrated with OoD data, >= 0.95 without' {
        $sharedMetrics.AUROC | Should -BeGreaterOrEqual 0.99
        $freeMetrics.AUROC | Should -BeGreaterOrEqual 0.95
    }

    It 'keeps TargetTpr of the in-distribution test images, within 0.02' {
        $kept = ($sharedIn | Where-Object { -not $_.IsOutOfDistribution }).Count / $sharedIn.Count
        [Math]::Abs($kept - $shared.TargetTpr) | Should -BeLessOrEqual 0.02
    }

    It 'scores per-tap detectors as before: a detector file without a scope is per tap, each tap its own step' {
        $default = Import-FssdDetector
        $default.PerturbationScope | Should -Be 'PerTap'
        $default.StepWeights | Should -HaveCount 0
        # Scored per tap, the detector's taps are what each tap's own single-tap FSSD gives at its ε.
        $files = @($sharedIn[0..4].FullName)
        $scores = $files | Measure-Fssd -Detector $default
        foreach ($layer in $default.Layers) {
            $own = $files | Measure-Fssd -Model $default.Model -Center $default.Center -Layer $layer.Name -Epsilon $default.Epsilon -Perturbation $default.Perturbation
            for ($i = 0; $i -lt $files.Count; $i++) {
                $scores[$i].LayerScores[$layer.Name] | Should -BeGreaterOrEqual ($own[$i].Score * (1 - 1e-5))
                $scores[$i].LayerScores[$layer.Name] | Should -BeLessOrEqual ($own[$i].Score * (1 + 1e-5))
            }
        }
    }
}
