BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $fixtures = Join-Path $RepoRoot 'tests/fixtures/models'
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-import-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Import-FssdModel' {
    It 'returns the module''s default model, LeNet trained on FashionMNIST, when no path is given' {
        $m = Import-FssdModel
        $m.Name | Should -Be 'fashion-mnist-lenet'
        $m.Architecture | Should -Be 'LeNet'
        $m.SourcePath | Should -Be (Join-Path $ModulePath 'models/fashion-mnist-lenet.yaml')
        $m.ClassNames | Should -HaveCount 10
        $m.Training.Dataset | Should -Be 'FashionMNIST'
        $m.Training.TrainingCount | Should -Be 60000
        (Get-Item $m.WeightsPath).Length | Should -BeGreaterThan 4MB
        (Import-FssdModel).Id | Should -Be $m.Id
    }

    It 'loads a PyTorch LeNet state_dict with the authors'' taps and input defaults' {
        $m = Import-FssdModel -Path (Join-Path $fixtures 'lenet.pt') -Architecture LeNet
        $m | Should -BeOfType ([Fssd.FssdModel])
        $m.Architecture | Should -Be 'LeNet'
        $m.Layers.Name | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
        $m.Layers.FeatureSize | Should -Be @(21632, 36864, 128, 10)
        $m.InputSpec.Height | Should -Be 28
        $m.InputSpec.ColorMode | Should -Be 'Gray'
        $m.InputSpec.Mean | Should -Be @(0.2860)
        $m.InputSpec.Std | Should -Be @(0.3530)
        $m.Sha256 | Should -Match '^[0-9a-f]{64}$'
        $m.Sha256 | Should -Be (Get-FileHash (Join-Path $fixtures 'lenet.pt') -Algorithm SHA256).Hash.ToLowerInvariant()
    }

    It 'loads safetensors weights and FileInfo from the pipeline' {
        $m = Get-Item (Join-Path $fixtures 'lenet.safetensors') | Import-FssdModel -Architecture LeNet
        $m.Layers.Count | Should -Be 4
    }

    It 'loads a torchvision-named ResNet18 and reads the CIFAR stem off the weights' {
        $m = Import-FssdModel (Join-Path $fixtures 'resnet18_cifar.pt') -Architecture ResNet18
        $m.Layers.Name | Should -Be @('stem', 'layer1', 'layer2', 'layer3', 'layer4', 'penultimate', 'logits')
        $m.Layers.Reduction[0] | Should -Be 'SpatialMean'
        $m.InputSpec.Channels | Should -Be 3
        $m.InputSpec.Height | Should -Be 32
    }

    It 'loads traced and scripted TorchScript tuples with named features' -ForEach @(
        @{ File = 'lenet.traced.pt' }, @{ File = 'lenet.scripted.pt' }) {
        $m = Import-FssdModel (Join-Path $fixtures $File) -Architecture TorchScript -InputSize 28, 28 -ColorMode Gray -Layer conv1, conv2, fc1
        $m.Layers.Name | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
        $m.Layers.FeatureSize | Should -Be @(21632, 36864, 128, 10)
    }

    It 'names more than five TorchScript features layer1..K' {
        $m = Import-FssdModel (Join-Path $fixtures 'mlp7.scripted.pt') -Architecture TorchScript -InputSize 4, 4 -ColorMode Gray
        $m.Layers.Name | Should -Be @('layer1', 'layer2', 'layer3', 'layer4', 'layer5', 'layer6', 'logits')
    }

    It 'returns the cached model the second time, at once' {
        $path = Join-Path $fixtures 'lenet.scripted.pt'
        $first = Import-FssdModel $path -Architecture TorchScript -InputSize 28, 28 -ColorMode Gray -Layer conv1, conv2, fc1
        $elapsed = Measure-Command {
            $script:second = Import-FssdModel $path -Architecture TorchScript -InputSize 28, 28 -ColorMode Gray -Layer conv1, conv2, fc1
        }
        Write-Host ("    second import of {0}: {1:F1} ms (first load took {2:F0} ms)" -f (Split-Path $path -Leaf), $elapsed.TotalMilliseconds, $first.LoadMilliseconds)
        [object]::ReferenceEquals($first, $second) | Should -BeTrue
        (Get-FssdContext).Models.Id | Should -Contain $first.Id
    }

    It 'reads a manifest with relative weights, class names and taps' {
        Copy-Item (Join-Path $fixtures 'lenet.safetensors') (Join-Path $work 'weights.safetensors')
        @'
architecture: LeNet
weights: weights.safetensors
classNames: [zero, one, two, three, four, five, six, seven, eight, nine]
taps:
  - name: fc1
  - name: conv2
    reduction: spatialMean
'@ | Set-Content (Join-Path $work 'lenet.yaml')
        $m = Import-FssdModel (Join-Path $work 'lenet.yaml')
        $m.ClassNames[9] | Should -Be 'nine'
        $m.Layers.Name | Should -Be @('fc1', 'conv2')
        $m.Layers[1].FeatureSize | Should -Be 64
        $m.Layers[1].Reduction | Should -Be 'SpatialMean'
        $m.Name | Should -Be 'lenet'
    }

    It 'keeps libtorch''s NNPACK warnings out of the console' {
        $out = Invoke-FreshPwsh "Import-Module '$ModulePath'; `$m = Import-FssdModel '$(Join-Path $fixtures 'resnet18_cifar.pt')' -Architecture ResNet18; 'layers=' + `$m.Layers.Count"
        $out | Should -Contain 'layers=7'
        ($out | Out-String) | Should -Not -Match 'NNPACK'
    }

    It 'shows models as a table' {
        $text = Import-FssdModel (Join-Path $fixtures 'lenet.pt') -Architecture LeNet | Format-Table | Out-String -Width 120
        $text | Should -Match 'LeNet'
        $text | Should -Match '1x28x28'
        $text | Should -Match 'conv1, conv2, fc1, logits'
    }
}

Describe 'Import-FssdModel with ONNX models' {
    BeforeAll {
        $images = Join-Path $RepoRoot 'tests/fixtures/images'
        $samples = Join-Path $RepoRoot 'examples/samples'
    }

    It 'imports an ONNX export of LeNet without -Architecture, tapped at its stages and its classifier''s input' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.onnx')
        $m.Architecture | Should -Be 'Onnx'
        $m.HasClassifier | Should -BeTrue
        $m.ClassNames | Should -HaveCount 10
        $m.Layers.Name | Should -Be @('/Relu_output_0', '/Relu_1_output_0', '/Relu_2_output_0')
        $m.Layers.FeatureSize | Should -Be @(32, 64, 128)
        '{0}x{1}x{2} {3}' -f $m.InputSpec.Channels, $m.InputSpec.Height, $m.InputSpec.Width, $m.InputSpec.ColorMode | Should -Be '1x28x28 Gray'
    }

    It 'scores PNG files with the ONNX LeNet and predicts their classes' {
        $m = Import-FssdModel (Join-Path $fixtures 'lenet.onnx') -Mean 0.2860 -Std 0.3530
        $files = Get-ChildItem $samples -Filter *.png
        $center = New-FssdCenter -Model $m -NoiseSamples 32 -Seed 0
        $scores = $files | Measure-Fssd -Model $m -Center $center -Epsilon 0.001
        $scores | Should -HaveCount $files.Count
        $scores.FullName | Should -Be $files.FullName
        foreach ($s in $scores) {
            $s.Score | Should -BeGreaterThan 0
            [double]::IsFinite($s.Score) | Should -BeTrue
            $s.PredictedClass | Should -BeIn $m.ClassNames
            $s.Confidence | Should -BeGreaterThan 0
        }
        ($scores.Score | Sort-Object -Unique).Count | Should -Be $files.Count
    }

    It 'stops with a categorised error naming an operator it does not run and its node' {
        $path = Join-Path $fixtures 'unknown_operator.onnx'
        $err = try { Import-FssdModel $path; $null } catch { $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'FssdOnnxOperatorNotSupported*'
        $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        $err.TargetObject | Should -Be $path
        $err.Exception.Message | Should -BeLike "*'FancyNorm'*"
        $err.Exception.Message | Should -BeLike "*'fancy_norm_1'*"
    }

    It 'refuses options for a manifest, which sets them itself' {
        $err = try { Import-FssdModel (Join-Path $ModulePath 'models/fashion-mnist-lenet.yaml') -InputSize 32, 32; $null } catch { $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'FssdModelInvalid*'
        $err.Exception.Message | Should -BeLike '*-InputSize*'
    }
}

Describe 'Import-FssdModel -Pretrained ResNet18' {
    BeforeAll {
        $images = Join-Path $RepoRoot 'tests/fixtures/images'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $pretrained = Import-FssdModel -Pretrained ResNet18
        Write-Host ("    -Pretrained ResNet18 imported in {0:F0} ms (load {1:F0} ms)" -f $clock.Elapsed.TotalMilliseconds, $pretrained.LoadMilliseconds)
    }

    It 'is the ImageNet ResNet18 from ML.NET''s package, pinned by SHA-256, with no classifier' {
        $pretrained.Name | Should -Be 'resnet18-imagenet'
        $pretrained.Architecture | Should -Be 'Onnx'
        $pretrained.HasClassifier | Should -BeFalse
        $pretrained.ClassNames | Should -HaveCount 0
        $pretrained.SourcePath | Should -Be (Join-Path $ModulePath 'models/pretrained/resnet18-imagenet.yaml')
        $pretrained.Sha256 | Should -Be 'e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f'
        (Get-FileHash $pretrained.WeightsPath -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $pretrained.Sha256
        '{0}x{1}x{2} {3}' -f $pretrained.InputSpec.Channels, $pretrained.InputSpec.Height, $pretrained.InputSpec.Width, $pretrained.InputSpec.ColorMode | Should -Be '3x224x224 Rgb'
        (Import-FssdModel -Pretrained resnet18).Id | Should -Be $pretrained.Id
    }

    It 'taps the stem, the four stages and the pooled feature' {
        $pretrained.Layers.Name | Should -Be @('ReLU253_Output_0', 'ReLU283_Output_0', 'ReLU315_Output_0', 'ReLU347_Output_0', 'ReLU393_Output_0', 'Pooling395_Output_0')
        $pretrained.Layers.FeatureSize | Should -Be @(64, 64, 128, 256, 512, 512)
        $pretrained.Layers.Reduction | Sort-Object -Unique | Should -Be 'SpatialMean'
        (Import-FssdModel -Pretrained ResNet18 -Layer Pooling395_Output_0).Layers.Name | Should -Be 'Pooling395_Output_0'
    }

    It 'scores a PNG and a JPEG of any size, and predicts no class' {
        $files = @((Join-Path $images 'large-3000x2000.png'), (Join-Path $images 'cmyk.jpg'))
        $center = New-FssdCenter -Model $pretrained -NoiseSamples 8 -Seed 0
        $scores = $files | Measure-Fssd -Model $pretrained -Center $center
        $scores | Should -HaveCount 2
        $scores.FullName | Should -Be $files
        foreach ($s in $scores) {
            $s.LayerScores.Keys | Should -Be @('ReLU253_Output_0', 'ReLU283_Output_0', 'ReLU315_Output_0', 'ReLU347_Output_0', 'ReLU393_Output_0', 'Pooling395_Output_0')
            foreach ($v in $s.LayerScores.Values) { $v | Should -BeGreaterThan 0 }
            $s.PredictedClass | Should -BeNullOrEmpty
            $s.Confidence | Should -BeNullOrEmpty
        }
        $scores[0].Score | Should -Not -Be $scores[1].Score
        ($scores | Format-Table | Out-String) | Should -Match 'cmyk.jpg'
    }

    It 'refuses class predictions, which it cannot make' {
        $err = try { Get-FssdPrediction -Path (Join-Path $images 'cmyk.jpg') -Model $pretrained; $null } catch { $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'FssdModelHasNoClassifier*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike '*no classifier head*'
    }

    It 'goes into a detector file and an exported manifest that load back with its preprocessing graph' {
        $files = @((Join-Path $images 'large-3000x2000.png'), (Join-Path $images 'cmyk.jpg'), (Join-Path $images 'bitmap.bmp'), (Join-Path $images 'lossless.webp'))
        $center = New-FssdCenter -Model $pretrained -NoiseSamples 8 -Seed 0
        $detector = New-FssdDetector -Model $pretrained -Center $center -InDistribution $files -Layer Pooling395_Output_0 -Epsilon 0
        $path = $detector | Export-FssdDetector -Path (Join-Path $work 'pretrained/det.fssd.yaml')
        (Get-Content $path -Raw) | Should -Match 'preprocessing: \.\./'
        $back = Import-FssdDetector $path
        $before = $files | Measure-Fssd -Detector $detector
        $after = $files | Measure-Fssd -Detector $back
        $after.Score | Should -Be $before.Score

        $manifest = $pretrained | Export-FssdModel -Path (Join-Path $work 'pretrained') -Name copy
        Join-Path $work 'pretrained/copy.onnx' | Should -Exist
        Join-Path $work 'pretrained/copy.preprocessing.onnx' | Should -Exist
        $copy = Import-FssdModel $manifest.FullName
        $copy.Sha256 | Should -Be $pretrained.Sha256
        $copy.Layers.Name | Should -Be $pretrained.Layers.Name
        $copy.HasClassifier | Should -BeFalse
    }

    It 'shows no classes in the model table' {
        ($pretrained | Format-Table | Out-String) | Should -Match 'Onnx\s+3x224x224\s+none\s+cpu'
    }
}

Describe 'Import-FssdModel on bad input' {
    BeforeAll {
        function Get-ImportError([scriptblock] $Action) {
            try { & $Action; return $null } catch { return $_ }
        }
        $text = Join-Path $work 'notes.pt'
        'these are not weights' | Set-Content $text
        $bytes = [IO.File]::ReadAllBytes((Join-Path $fixtures 'lenet.pt'))
        $truncated = Join-Path $work 'truncated.pt'
        [IO.File]::WriteAllBytes($truncated, $bytes[0..($bytes.Length / 3)])
        $badManifest = Join-Path $work 'bad.yaml'
        "architecture: LeNet`nweights: weights.safetensors`ncolours: 3`n" | Set-Content $badManifest
        $badArch = Join-Path $work 'badarch.yaml'
        "architecture: VGG16`nweights: weights.safetensors`n" | Set-Content $badArch
    }

    It 'names the file and the cause: <Case>' -ForEach @(
        @{ Case = 'a missing file'; Target = 'missing.pt'; Arch = 'LeNet'; Cause = 'does not exist'; Id = 'FssdPathNotFound' }
        @{ Case = 'a file that is not a model'; Target = 'notes.pt'; Arch = 'LeNet'; Cause = 'not a PyTorch state_dict'; Id = 'FssdModelInvalid' }
        @{ Case = 'weights that do not fit'; Target = 'RESNET'; Arch = 'LeNet'; Cause = 'do not fit LeNet'; Id = 'FssdModelInvalid' }
        @{ Case = 'a truncated archive'; Target = 'truncated.pt'; Arch = 'LeNet'; Cause = 'truncated'; Id = 'FssdModelInvalid' }
        @{ Case = 'a manifest with a wrong field'; Target = 'bad.yaml'; Arch = $null; Cause = "colours"; Id = 'FssdModelInvalid' }
        @{ Case = 'a manifest with an unknown architecture'; Target = 'badarch.yaml'; Arch = $null; Cause = "VGG16"; Id = 'FssdModelInvalid' }
    ) {
        $path = if ($Target -eq 'RESNET') { Join-Path $fixtures 'resnet18_cifar.pt' } else { Join-Path $work $Target }
        $err = if ($Arch) { Get-ImportError { Import-FssdModel -Path $path -Architecture $Arch } }
               else { Get-ImportError { Import-FssdModel -Path $path } }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike "$Id*"
        $err.Exception.Message | Should -BeLike "*$path*"
        $err.Exception.Message | Should -BeLike "*$Cause*"
        (Get-FssdContext).Device | Should -Be 'cpu' -Because 'PowerShell keeps running'
    }

    It 'lists the first mismatches of weights that do not fit' {
        $err = Get-ImportError { Import-FssdModel (Join-Path $fixtures 'resnet18_cifar.pt') -Architecture LeNet }
        $err.Exception.Message | Should -Match "missing 'conv1.bias'"
        $err.Exception.Message | Should -Match 'and \d+ more'
    }
}
