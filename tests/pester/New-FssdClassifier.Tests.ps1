BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-train-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $smallTrain = Get-FssdDataset FashionMNIST -Split train -First 2000
    $smallTest = Get-FssdDataset FashionMNIST -Split test -First 500
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'New-FssdClassifier' {
    It 'trains LeNet on FashionMNIST for one epoch to at least 85% test accuracy' -Tag 'Slow' {
        $model = New-FssdClassifier LeNet -TrainingSet FashionMNIST/train -ValidationSet FashionMNIST/test -OutputPath $work -Name one-epoch -Epochs 1
        $model | Should -BeOfType ([Fssd.FssdModel])
        $epoch = $model.Training.Epochs[0]
        Write-Host ("    one LeNet epoch on 60,000 FashionMNIST images: {0:F1} s, loss {1:F4}, test accuracy {2:P2}" -f $epoch.Seconds, $epoch.Loss, $epoch.Accuracy)
        $accuracy = Measure-FssdAccuracy FashionMNIST/test -Model $model
        $accuracy.Count | Should -Be 10000
        $accuracy.Accuracy | Should -BeGreaterOrEqual 0.85
        $accuracy.Accuracy | Should -Be $epoch.Accuracy
        Join-Path $work 'one-epoch.yaml' | Should -Exist
        Join-Path $work 'one-epoch.safetensors' | Should -Exist
    }

    It 'fine-tunes the default model with outlier exposure, which lowers its confidence on unseen Kana characters' -Tag 'Slow' {
        $default = Import-FssdModel
        $oe = New-FssdClassifier LeNet -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name oe -Epochs 1 `
            -InitialModel $default -OutlierSet (Get-FssdDataset Kana -Split train -First 2000) -LearningRate 0.1
        $oe.Training.FineTunedFrom | Should -Be 'fashion-mnist-lenet.safetensors'
        $oe.Training.OutlierCount | Should -Be 2000
        $oe.Training.OutlierWeight | Should -Be 0.5
        $oe.InputSpec.Mean | Should -Be $default.InputSpec.Mean
        # Unseen Kana test characters: the mean maximum softmax probability drops; FashionMNIST accuracy stays.
        $kana = Get-FssdSample Kana/test -First 300
        $before = ($kana | Get-FssdPrediction -Model $default | Measure-Object Confidence -Average).Average
        $after = ($kana | Get-FssdPrediction -Model $oe | Measure-Object Confidence -Average).Average
        $accuracy = (Measure-FssdAccuracy $smallTest -Model $oe).Accuracy
        Write-Host ("    outlier exposure, one epoch on 2,000 + 2,000: mean confidence on Kana {0:P1} -> {1:P1}; accuracy {2:P2} on 500 FashionMNIST test images" -f $before, $after, $accuracy)
        $after | Should -BeLessThan ($before - 0.1)
        $accuracy | Should -BeGreaterOrEqual 0.8
        { New-FssdClassifier ResNet18 -TrainingSet $smallTrain -OutputPath $work -Name wrong -InitialModel $default -ErrorAction Stop } | Should -Throw '*LeNet*'
    }

    It 'records the authors'' recipe and the measured normalization in the manifest' -Tag 'Slow' {
        $model = Import-FssdModel (Join-Path $work 'one-epoch.yaml')
        $model.Training.Optimizer | Should -Match '^Adadelta'
        $model.Training.LearningRate | Should -Be 1.0
        $model.Training.Schedule | Should -Match 'gamma 0.7'
        $model.Training.BatchSize | Should -Be 64
        $model.Training.TrainingCount | Should -Be 60000
        $model.InputSpec.Mean | Should -Be @(0.286)
        $model.InputSpec.Std | Should -Be @(0.353)
        $model.ClassNames[0] | Should -Be 'T-shirt/top'
    }

    It 'gives the same weights for the same seed, and different ones for another seed' {
        $a = New-FssdClassifier LeNet -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name seed-a -Epochs 1 -Seed 7
        $b = New-FssdClassifier LeNet -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name seed-b -Epochs 1 -Seed 7
        $c = New-FssdClassifier LeNet -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name seed-c -Epochs 1 -Seed 8
        $a.Sha256 | Should -Be $b.Sha256
        $a.Sha256 | Should -Not -Be $c.Sha256
    }

    It 'keeps a snapshot every N epochs and decays the learning rate by gamma each epoch' {
        $m = New-FssdClassifier LeNet -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name snaps -Epochs 2 -SnapshotEvery 1
        Join-Path $work 'snaps.epoch001.yaml' | Should -Exist
        Join-Path $work 'snaps.epoch002.safetensors' | Should -Exist
        $m.Training.Epochs.LearningRate[0] | Should -Be 1.0
        $m.Training.Epochs.LearningRate[1] | Should -BeLessThan 0.7001
        $m.Training.Epochs.LearningRate[1] | Should -BeGreaterThan 0.6999
        $snapshot = Import-FssdModel (Join-Path $work 'snaps.epoch001.yaml')
        $snapshot.Training.Epochs | Should -HaveCount 1
        $snapshot.Sha256 | Should -Not -Be $m.Sha256
    }

    It 'fine-tunes a built-in classifier whole when -InitialModel comes without -Architecture; -TrainLastStage is for a new head' {
        $default = Import-FssdModel
        $m = New-FssdClassifier -InitialModel $default -TrainingSet $smallTrain -ValidationSet $smallTest -OutputPath $work -Name whole -Epochs 1
        $m.Architecture | Should -Be 'LeNet'
        $m.Training.FineTunedFrom | Should -Be 'fashion-mnist-lenet.safetensors'
        { New-FssdClassifier -InitialModel $default -TrainingSet $smallTrain -OutputPath $work -Name staged -TrainLastStage -ErrorAction Stop } |
            Should -Throw '*-TrainLastStage*LeNet*'
    }

    It 'holds out part of the training set when no validation set is given' {
        $m = New-FssdClassifier LeNet -TrainingSet $smallTrain -OutputPath $work -Name heldout -Epochs 1 -ValidationFraction 0.2
        $m.Training.TrainingCount | Should -Be 1600
        $m.Training.ValidationCount | Should -Be 400
    }

    It 'stops on Ctrl+C and keeps the last finished epoch' {
        $dir = Join-Path $work 'stopped'
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($module, $dir)
            Import-Module $module
            New-FssdClassifier LeNet -TrainingSet (Get-FssdDataset FashionMNIST -Split train -First 3000) `
                -ValidationSet (Get-FssdDataset FashionMNIST -Split test -First 300) -OutputPath $dir -Name stopped -Epochs 100
        }).AddArgument($ModulePath).AddArgument($dir)
        $async = $ps.BeginInvoke()
        $manifest = Join-Path $dir 'stopped.yaml'
        $deadline = [DateTime]::UtcNow.AddMinutes(3)
        while (-not (Test-Path $manifest) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        $manifest | Should -Exist
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $ps.Dispose()
        $kept = Import-FssdModel $manifest
        $kept.Training.Interrupted | Should -BeTrue
        $kept.Training.Epochs.Count | Should -BeGreaterOrEqual 1
        $kept.Training.Epochs.Count | Should -BeLessThan 100
        # The weights on disk are the last finished epoch's: they score what that epoch measured.
        $last = $kept.Training.Epochs[-1]
        (Measure-FssdAccuracy (Get-FssdDataset FashionMNIST -Split test -First 300) -Model $kept).Accuracy | Should -Be $last.Accuracy
    }

    It 'trains a ResNet18 on a class folder, skipping a corrupt image with a warning that names it' {
        $root = Join-Path $work 'folder'
        Export-FssdDataset -Dataset FashionMNIST/test -Path $root -PerClass 6
        $class = (Get-ChildItem $root -Directory)[0].FullName
        [IO.File]::WriteAllBytes((Join-Path $class 'corrupt.png'), [byte[]](0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 9, 9))
        $m = New-FssdClassifier ResNet18 -TrainingSet $root -OutputPath $work -Name resnet -Epochs 1 -BatchSize 16 -InputSize 32, 32 `
            -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -HaveCount 1
        "$($warnings[0])" | Should -Match 'corrupt\.png'
        $m.Architecture | Should -Be 'ResNet18'
        $m.InputSpec.Channels | Should -Be 3
        $m.ClassNames.Count | Should -Be 10
        $m.Training.Augmented | Should -BeTrue
        $m.Training.Optimizer | Should -Match '^SGD'
        $m.Training.TrainingCount + $m.Training.ValidationCount | Should -Be 60
    }

    It 'refuses to overwrite a model without -Force, and an unlabeled training set' {
        # A model of that name exists already (here: a manifest and weights the test writes itself).
        Import-FssdModel | Export-FssdModel -Path $work -Name taken | Out-Null
        New-FssdClassifier LeNet -TrainingSet $smallTrain -OutputPath $work -Name taken -Epochs 1 -ErrorVariable err -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Match 'FssdClassifierExists'
        $loose = Join-Path $work 'unlabeled'
        Export-FssdDataset -Dataset MNIST -Path $loose -First 3
        $files = Get-ChildItem $loose -Recurse -Filter *.png | Get-FssdDataset
        New-FssdClassifier LeNet -TrainingSet $files -OutputPath $work -Name nolabels -ErrorVariable err2 -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err2[0].Exception.Message | Should -Match 'no labels'
    }
}
