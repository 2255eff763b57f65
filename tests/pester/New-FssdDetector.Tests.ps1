BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-detector-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $model = Import-FssdModel
    $center = New-FssdCenter -Model $model
    $validation = Get-FssdDataset FashionMNIST -Split test -First 500
    $detector = New-FssdDetector -Model $model -Center $center -InDistribution $validation -TargetTpr 0.9
    $samples = @(Get-ChildItem (Join-Path $RepoRoot 'examples/samples') -Filter *.png | Sort-Object Name)
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'New-FssdDetector' {
    It 'sets the threshold that keeps the target share of in-distribution validation inputs' {
        $detector | Should -BeOfType ([Fssd.FssdDetector])
        $detector.Calibration | Should -Be 'ThresholdOnly'
        $detector.Layers.Name | Should -Be 'fc1'
        $detector.ValidationCount | Should -Be 500
        $scores = Get-FssdSample $validation | Export-FssdDataset -Path (Join-Path $work 'val') -PassThru | Measure-Fssd -Detector $detector
        $kept = ($scores | Where-Object { -not $_.IsOutOfDistribution }).Count / 500
        $kept | Should -BeGreaterOrEqual 0.9
        $kept | Should -BeLessThan 0.905
        $detector.ValidationTpr | Should -Be $kept
    }

    It 'says that a shared step does not apply to a threshold-only detector, and makes the same detector' {
        $small = Get-FssdDataset FashionMNIST -Split test -First 100
        $plain = New-FssdDetector -Model $model -Center $center -InDistribution $small -TargetTpr 0.9
        $shared = New-FssdDetector -Model $model -Center $center -InDistribution $small -TargetTpr 0.9 -PerturbationScope Shared -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -HaveCount 1
        "$($warned[0])" | Should -BeLike '*shared step has no effect on a threshold-only detector*'
        $shared.Threshold | Should -Be $plain.Threshold
        $shared.PerturbationScope | Should -Be 'PerTap'
    }
}

Describe 'Export-FssdDetector and Import-FssdDetector' {
    It 'warns when a threshold rests on too few inputs, saying how many it needs, and not when it has enough' {
        $few = Get-FssdDataset FashionMNIST -Split test -First 60
        $d = New-FssdDetector -Model $model -Center $center -InDistribution $few -WarningVariable warned -WarningAction SilentlyContinue
        $d | Should -BeOfType ([Fssd.FssdDetector])
        $warned | Should -HaveCount 1
        "$($warned[0])" | Should -BeLike '*rests on 60 in-distribution input(s)*at least 200*'
        $null = New-FssdDetector -Model $model -Center $center -InDistribution $validation -WarningVariable none -WarningAction SilentlyContinue
        $none | Should -HaveCount 0
    }

    It 'warns when the held-out AUROC is near chance: "out-of-distribution" inputs drawn from the same set' {
        $in = @(Get-FssdSample FashionMNIST/test -First 400)
        $same = @(Get-FssdSample FashionMNIST/test -Skip 400 -First 400)
        $d = New-FssdDetector -Model $model -Center $center -InDistribution $in -OutOfDistribution $same -Epsilon 0 -WarningVariable warned -WarningAction SilentlyContinue
        Write-Host ("    held-out AUROC of FashionMNIST against FashionMNIST: {0:P1}" -f $d.ValidationMetrics.AUROC)
        $d.ValidationMetrics.AUROC | Should -BeLessOrEqual 0.6
        @($warned | Where-Object { "$_" -like '*barely better than chance*' }) | Should -HaveCount 1
        @($warned | Where-Object { "$_" -like '*rests on*' }) | Should -HaveCount 0 -Because 'the held-out half has 200 in-distribution inputs'
    }

    It 'round-trips a detector so that every score is reproduced bit for bit' {
        $file = $detector | Export-FssdDetector -Path (Join-Path $work 'd.fssd.yaml')
        $file | Should -Exist
        $back = Import-FssdDetector $file.FullName
        $back.Threshold | Should -Be $detector.Threshold
        $back.Center.Taps[2].Vector | Should -Be $detector.Center.Taps[2].Vector
        $a = $samples | Measure-Fssd -Detector $detector
        $b = $samples | Measure-Fssd -Detector $back
        for ($i = 0; $i -lt $samples.Count; $i++) { $b[$i].Score | Should -Be $a[$i].Score }
    }

    It 'keeps an existing file without -Force and writes nothing with -WhatIf' {
        $path = Join-Path $work 'keep.fssd.yaml'
        Export-FssdDetector -Detector $detector -Path $path | Out-Null
        Export-FssdDetector -Detector $detector -Path $path -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Match 'FssdExportExists'
        Export-FssdDetector -Detector $detector -Path (Join-Path $work 'never.fssd.yaml') -WhatIf
        Join-Path $work 'never.fssd.yaml' | Should -Not -Exist
    }

    It 'refuses a detector whose model weights changed, and an unknown format version' {
        $dir = Join-Path $work 'moved'
        $null = New-Item -ItemType Directory -Path $dir
        Copy-Item $model.WeightsPath (Join-Path $dir 'weights.safetensors')
        $path = Join-Path $work 'd.fssd.yaml'
        $text = (Get-Content -LiteralPath $path -Raw) -replace '(?m)^(\s+weights:).*$', '$1 moved/weights.safetensors'
        $bytes = [IO.File]::ReadAllBytes((Join-Path $dir 'weights.safetensors'))
        $bytes[$bytes.Length - 1] = $bytes[$bytes.Length - 1] -bxor 1
        [IO.File]::WriteAllBytes((Join-Path $dir 'weights.safetensors'), $bytes)
        Set-Content -LiteralPath (Join-Path $work 'changed.fssd.yaml') -Value $text
        # The edit itself is caught first; accepted on purpose, the weights' hash still refuses the file.
        Import-FssdDetector (Join-Path $work 'changed.fssd.yaml') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'changed after it was written'
        Import-FssdDetector (Join-Path $work 'changed.fssd.yaml') -SkipIntegrityCheck -WarningAction SilentlyContinue -ErrorVariable err1 -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err1[0].Exception.Message | Should -Match 'weights with SHA-256'
        Set-Content -LiteralPath (Join-Path $work 'v9.fssd.yaml') -Value ((Get-Content -LiteralPath $path -Raw) -replace 'formatVersion: 2', 'formatVersion: 9')
        Import-FssdDetector (Join-Path $work 'v9.fssd.yaml') -SkipIntegrityCheck -WarningAction SilentlyContinue -ErrorVariable err2 -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err2[0].Exception.Message | Should -Match 'formatVersion 9'
    }

    It 'returns the module''s default detector without a path' {
        $d = Import-FssdDetector
        $d.Name | Should -Be 'fashion-mnist-lenet'
        $d.Model.Name | Should -Be 'fashion-mnist-lenet'
        $d.TargetTpr | Should -Be 0.95
        $d.ValidationSource | Should -Match 'FashionMNIST'
        # Outlier-free: it never saw MNIST or any other real OoD data.
        $d.Calibration | Should -Be 'OutlierFree'
        $d.PseudoOutlierKinds | Should -Be @('PatchShuffle2', 'PatchShuffle4', 'PatchShuffle7')
        $d.ValidationSource | Should -Not -Match 'MNIST digits'
        # FSSD-Ensem's four taps, then Knn layers fitted on training images (fc1, and conv2's texture).
        $d.Layers.Key | Should -Be @('conv1', 'conv2', 'fc1', 'logits', 'knn_fc1', 'knn_conv2_std')
        @($d.Layers | ForEach-Object { "$($_.Method)" }) | Should -Be @('', '', '', '', 'Knn', 'Knn')
        $d.Banks | ForEach-Object Count | Should -Be @(5000, 5000)
        $d.Perturbation | Should -Be 'Sign'
    }
}

Describe 'New-FssdDetector with several models (network ensembles)' {
    BeforeAll {
        $snapshots = Join-Path $work 'snapshots'
        $small = Get-FssdDataset FashionMNIST -Split train -First 2000
        $null = New-FssdClassifier LeNet -TrainingSet $small -ValidationSet $validation -OutputPath $snapshots -Name snap -Epochs 2 -SnapshotEvery 1
        $first = Import-FssdModel (Join-Path $snapshots 'snap.epoch001.yaml')
        $second = Import-FssdModel (Join-Path $snapshots 'snap.epoch002.yaml')
        $valOut = Get-FssdDataset MNIST -First 300
        $ensemble = New-FssdDetector -Model $first, $second -InDistribution (Get-FssdDataset FashionMNIST -Split test -First 300) -OutOfDistribution $valOut -EpsilonGrid 0
    }

    It 'weighs the taps of every model in one regression' {
        $ensemble.Models | Should -HaveCount 2
        $ensemble.Centers | Should -HaveCount 2
        $ensemble.Layers | Should -HaveCount 8
        $ensemble.Layers.Key | Should -Be @('model0/conv1', 'model0/conv2', 'model0/fc1', 'model0/logits', 'model1/conv1', 'model1/conv2', 'model1/fc1', 'model1/logits')
        $ensemble.Centers[1].ModelSha256 | Should -Be $second.Sha256
    }

    It 'scores files with every model, and exports and imports to identical scores' {
        $scores = $samples | Measure-Fssd -Detector $ensemble
        $scores[0].LayerScores.Keys | Should -Be $ensemble.Layers.Key
        $scores[0].PSObject.Properties.Name | Should -Contain 'Fssd_model1_fc1'
        $file = $ensemble | Export-FssdDetector -Path (Join-Path $snapshots 'ensemble.fssd.yaml')
        $back = Import-FssdDetector $file.FullName
        $back.Models.Sha256 | Should -Be @($first.Sha256, $second.Sha256)
        $again = $samples | Measure-Fssd -Detector $back
        for ($i = 0; $i -lt $samples.Count; $i++) { $again[$i].Score | Should -Be $scores[$i].Score }
    }

    It 'refuses several models without data to weigh them' {
        { New-FssdDetector -Model $first, $second -InDistribution $validation -ErrorAction Stop } | Should -Throw '*need weights*'
    }
}
