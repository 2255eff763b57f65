BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-measure-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $images = Join-Path $RepoRoot 'tests/fixtures/images'
    $model = Import-FssdModel
    $center = New-FssdCenter -Model $model -NoiseSamples 100 -Seed 0

    function New-NoisePng([string] $Folder, [int] $Count, [int] $Seed) {
        $rng = [Random]::new($Seed)
        1..$Count | ForEach-Object {
            $pixels = [byte[]]::new(784)
            $rng.NextBytes($pixels)
            [Fssd.FssdSample]@{ Dataset = 'noise'; Index = $_; Height = 28; Width = 28; Channels = 1; Pixels = $pixels }
        } | Export-FssdDataset -Path $Folder
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Measure-Fssd on FashionMNIST against MNIST, from PNG files' -Tag 'RealData', 'Slow' {
    BeforeAll {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Export-FssdDataset -Dataset FashionMNIST/test -Path (Join-Path $work 'fashion')
        Export-FssdDataset -Dataset MNIST -Path (Join-Path $work 'mnist')
        New-NoisePng (Join-Path $work 'noise') 200 99
        $written = $clock.Elapsed.TotalSeconds
        $clock.Restart()
        $fashion = Get-ChildItem (Join-Path $work 'fashion') -Recurse -File | Measure-Fssd -Model $model -Center $center
        $mnist = Get-ChildItem (Join-Path $work 'mnist') -Recurse -File | Measure-Fssd -Model $model -Center $center
        $noise = Get-ChildItem (Join-Path $work 'noise') -File | Measure-Fssd -Model $model -Center $center
        Write-Host ("    wrote 20,200 PNG files in {0:F1} s; scored them (all taps, eps 0) in {1:F1} s" -f $written, $clock.Elapsed.TotalSeconds)
        $taps = $model.Layers.Name
    }

    It 'scores every one of the 10,000 FashionMNIST and 10,000 MNIST files once' {
        $fashion | Should -HaveCount 10000
        $mnist | Should -HaveCount 10000
        ($fashion.FullName | Sort-Object -Unique).Count | Should -Be 10000
        $fashion[0].LayerScores.Keys | Should -Be @('conv1', 'conv2', 'fc1', 'logits')
    }

    It 'puts fresh uniform noise nearer F* than FashionMNIST at the deep taps: conv2, fc1 and the logits (AUROC >= 0.99)' {
        # F* is the mean feature of noise, and from conv2 on the network collapses noise onto it (the
        # paper's premise). conv1 is printed, not asserted: it is nearly linear in the pixels, so each noise
        # image keeps its own variance there.
        foreach ($tap in $taps) {
            $m = Get-FssdMetrics -InDistribution $fashion -OutOfDistribution $noise -Layer $tap
            Write-Host ("    noise vs FashionMNIST, {0,-6}: AUROC {1:P2}" -f $tap, $m.AUROC)
            if ($tap -ne 'conv1') { $m.AUROC | Should -BeGreaterOrEqual 0.99 }
        }
    }

    It 'reports every tap''s AUROC, AUPRC and FPR80 against MNIST, and they agree with a rank count' {
        foreach ($tap in $taps) {
            $m = Get-FssdMetrics -InDistribution $fashion -OutOfDistribution $mnist -Layer $tap
            Write-Host ("    FashionMNIST vs MNIST, {0,-6}: AUROC {1:P2}, AUPRC-In {2:P2}, AUPRC-Out {3:P2}, FPR80 {4:P2}" -f $tap, $m.AUROC, $m.AUPRCIn, $m.AUPRCOut, $m.FPR80)
            $m.InCount | Should -Be 10000
            $m.OutCount | Should -Be 10000
            # AUROC is P(in > out) + P(in = out)/2: count it on 300 x 300 pairs and compare.
            $a = $fashion[0..299] | ForEach-Object { $_.LayerScores[$tap] }
            $b = $mnist[0..299] | ForEach-Object { $_.LayerScores[$tap] }
            $wins = 0.0
            foreach ($x in $a) { foreach ($y in $b) { if ($x -gt $y) { $wins += 1 } elseif ($x -eq $y) { $wins += 0.5 } } }
            $sub = Get-FssdMetrics -InDistribution $a -OutOfDistribution $b
            $sub.AUROC | Should -BeLessThan ($wins / 90000 + 1e-9)
            $sub.AUROC | Should -BeGreaterThan ($wins / 90000 - 1e-9)
        }
    }
}

Describe 'Measure-Fssd inputs and outputs' {
    BeforeAll {
        $samples = Join-Path $RepoRoot 'examples/samples'
        $sampleFiles = @(Get-ChildItem $samples -Filter *.png | Sort-Object Name)
    }

    It 'matches PyTorch''s FSSD for the fixture model, center and images, with eps 0 and eps 0.02 (1e-4 relative)' {
        $fixture = Get-Content (Join-Path $RepoRoot 'tests/fixtures/fssd/lenet.fssd.json') -Raw | ConvertFrom-Json
        $lenet = Import-FssdModel (Join-Path $RepoRoot 'tests/fixtures/models/lenet.pt') -Architecture LeNet
        $fixtureCenter = [Fssd.FssCenter]@{
            Model = $lenet.Name; ModelSha256 = $lenet.Sha256; Source = 'UniformNoise'; Samples = 100
            Taps = [Fssd.FssCenterTap[]]@(
                [Fssd.FssCenterTap]@{ Name = 'fc1'; Size = 128; Vector = [float[]]$fixture.centers.fc1 }
                [Fssd.FssCenterTap]@{ Name = 'logits'; Size = 10; Vector = [float[]]$fixture.centers.logits })
        }
        $dir = Join-Path $work 'pytorch'
        for ($i = 0; $i -lt 6; $i++) {
            [Fssd.FssdSample]@{ Dataset = 'fixture'; Index = $i; Height = 28; Width = 28; Channels = 1; Pixels = [byte[]]$fixture.images[$i] } |
                Export-FssdDataset -Path $dir
        }
        $files = Get-ChildItem $dir -Filter *.png | Sort-Object Name
        foreach ($variant in @(@{ Name = 'zero'; Eps = 0.0 }, @{ Name = 'sign'; Eps = 0.02 })) {
            foreach ($tap in 'fc1', 'logits') {
                $scores = $files | Measure-Fssd -Model $lenet -Center $fixtureCenter -Layer $tap -Epsilon $variant.Eps -BatchSize 6
                $expected = $fixture.scores.($variant.Name).$tap
                for ($i = 0; $i -lt 6; $i++) {
                    [Math]::Abs($scores[$i].Score - $expected[$i]) | Should -BeLessOrEqual (1e-4 * [Math]::Abs($expected[$i])) -Because "$($variant.Name) $tap [$i]"
                }
            }
        }
    }

    It 'binds FileInfo, wildcard paths, literal paths with brackets and objects with a Path, in input order' {
        $bracket = Join-Path $work 'odd [1].png'
        Copy-Item -LiteralPath $sampleFiles[0].FullName -Destination $bracket
        (Get-Item -LiteralPath $bracket | Measure-Fssd).FullName | Should -Be $bracket
        (Measure-Fssd -LiteralPath $bracket).FullName | Should -Be $bracket
        (Measure-Fssd -Path (Join-Path $samples 'mnist-*.png')).Count | Should -Be 6
        $objects = $sampleFiles[2, 0, 1] | ForEach-Object { [pscustomobject]@{ Path = $_.FullName } }
        ($objects | Measure-Fssd).FullName | Should -Be @($sampleFiles[2].FullName, $sampleFiles[0].FullName, $sampleFiles[1].FullName)
    }

    It 'scores in-memory samples as it scores their files, in order, and reports a malformed sample without stopping' {
        $fromFiles = $sampleFiles | Measure-Fssd
        $samples = @($sampleFiles | Get-FssdDataset | Get-FssdSample)
        $bad = [Fssd.FssdSample]@{ Dataset = 'broken'; Source = 'broken sample'; Height = 28; Width = 28; Channels = 1; Pixels = [byte[]]::new(10) }
        $fromMemory = @($samples[0..2]) + $bad + @($samples[3..11]) | Measure-Fssd -ErrorVariable failed -ErrorAction SilentlyContinue
        $fromMemory | Should -HaveCount 12
        for ($i = 0; $i -lt 12; $i++) { $fromMemory[$i].Score | Should -Be $fromFiles[$i].Score }
        $fromMemory[0].FullName | Should -Be $samples[0].Source
        $failed | Should -HaveCount 1
        $failed[0].TargetObject | Should -Be 'broken sample'
    }

    It 'reports a path that does not exist, with or without wildcards, and goes on' {
        $missing = Join-Path $work 'no-such-file.png'
        $scores = Measure-Fssd -Path $missing, $sampleFiles[0].FullName, (Join-Path $work 'none-*.png') -ErrorVariable err -ErrorAction SilentlyContinue
        $scores.FullName | Should -Be @($sampleFiles[0].FullName)
        $err | Should -HaveCount 2
        $err[0].Exception.Message | Should -Match 'no-such-file\.png'
        $err[1].Exception.Message | Should -Match 'none-\*\.png'
    }

    It 'gives the same scores from four runspaces at once (ForEach-Object -Parallel) as from one' {
        $sequential = ($sampleFiles | Measure-Fssd).Score
        $paths = $sampleFiles.FullName
        $parallel = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module $using:ModulePath
            , @(($using:paths | Measure-Fssd).Score)
        }
        $parallel | Should -HaveCount 4
        foreach ($run in $parallel) { $run | Should -Be $sequential }
    }

    It 'keeps input order across batches while decoding in parallel' {
        $many = 1..40 | ForEach-Object { $sampleFiles[$_ % $sampleFiles.Count].FullName }
        $scores = $many | Measure-Fssd -Model $model -Center $center -BatchSize 7
        $scores.FullName | Should -Be $many
        $single = $many | ForEach-Object { (Measure-Fssd -Path $_ -Model $model -Center $center).Score }
        for ($i = 0; $i -lt 40; $i++) { $scores[$i].Score | Should -BeLessOrEqual ($single[$i] * (1 + 1e-5)); $scores[$i].Score | Should -BeGreaterOrEqual ($single[$i] * (1 - 1e-5)) }
    }

    It 'gives every good file one score and every bad one an error naming it and the cause' -Skip:(-not $IsLinux) {
        $mixed = Join-Path $work 'mixed'
        $null = New-Item -ItemType Directory -Path $mixed
        Copy-Item (Join-Path $images '*') $mixed
        Copy-Item $sampleFiles[0].FullName (Join-Path $mixed 'name with [brackets].png')
        [IO.File]::WriteAllBytes((Join-Path $mixed 'zero-bytes.png'), [byte[]]@())
        $png = [IO.File]::ReadAllBytes($sampleFiles[0].FullName)
        [IO.File]::WriteAllBytes((Join-Path $mixed 'truncated.png'), $png[0..($png.Length / 2)])
        Set-Content -LiteralPath (Join-Path $mixed 'text.jpg') -Value 'this is not a JPEG'
        $random = [byte[]]::new(4096); [Random]::new(5).NextBytes($random)
        [IO.File]::WriteAllBytes((Join-Path $mixed 'random.webp'), $random)
        $null = New-Item -ItemType Directory -Path (Join-Path $mixed 'a-directory.png')
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $mixed 'broken-link.png') -Target (Join-Path $mixed 'missing.png')
        $good = @('bitmap.bmp', 'cmyk.jpg', 'frame.gif', 'gray16.png', 'large-3000x2000.png', 'lossless.webp', 'one-pixel.png', 'palette.png', 'rgba.png', 'name with [brackets].png')
        $bad = @('zero-bytes.png', 'truncated.png', 'text.jpg', 'random.webp', 'a-directory.png', 'broken-link.png')

        $paths = Get-ChildItem -LiteralPath $mixed -Force | ForEach-Object FullName
        $scores = Measure-Fssd -LiteralPath $paths -ErrorVariable err -ErrorAction SilentlyContinue
        ($scores.Name | Sort-Object) | Should -Be ($good | Sort-Object)
        $err | Should -HaveCount $bad.Count
        ($err.TargetObject | Split-Path -Leaf | Sort-Object) | Should -Be ($bad | Sort-Object)
        foreach ($e in $err) {
            $e.Exception.Message | Should -Match ([regex]::Escape((Split-Path -Leaf $e.TargetObject)))
            $e.FullyQualifiedErrorId | Should -Match '^FssdImageUnreadable'
        }
        ($err | Where-Object { $_.TargetObject -like '*a-directory.png' }).Exception.Message | Should -Match 'is a directory'
        ($err | Where-Object { $_.TargetObject -like '*zero-bytes.png' }).Exception.Message | Should -Match 'empty'
        ($err | Where-Object { $_.TargetObject -like '*truncated.png' }).Exception.Message | Should -Match 'truncated|corrupt'
    }

    It 'uses the default detector when given neither a model nor a detector' {
        $scores = $sampleFiles | Measure-Fssd
        $scores | Should -HaveCount 12
        $scores[0].Threshold | Should -Not -BeNullOrEmpty
        $scores | ForEach-Object { $_.IsOutOfDistribution | Should -Be ($_.Score -lt $_.Threshold) }
        $scores[0].Model | Should -Be 'fashion-mnist-lenet'
    }

    It 'writes one CSV column per tap, and Move-Item moves files by the Path it binds' {
        $csv = Join-Path $work 'scores.csv'
        $sampleFiles | Measure-Fssd -Model $model -Center $center | Export-Csv -LiteralPath $csv
        $header = (Get-Content -LiteralPath $csv -TotalCount 1) -replace '"', ''
        foreach ($tap in $model.Layers.Name) { $header -split ',' | Should -Contain "Fssd_$tap" }
        $move = Join-Path $work 'tomove'
        $dest = Join-Path $work 'moved'
        $null = New-Item -ItemType Directory -Path $move, $dest
        Copy-Item $sampleFiles[0..2].FullName $move
        Get-ChildItem $move | Measure-Fssd -Model $model -Center $center | Move-Item -Destination $dest
        (Get-ChildItem $dest).Count | Should -Be 3
        (Get-ChildItem $move).Count | Should -Be 0
    }

    It 'stops on Ctrl+C: when Stop returns, the scoring threads are done and no result comes after' {
        $many = Join-Path $work 'many.txt'
        Set-Content -LiteralPath $many -Value (1..50000 | ForEach-Object { $sampleFiles[$_ % $sampleFiles.Count].FullName })
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($module, $list)
            Import-Module $module
            Get-Content -LiteralPath $list | Measure-Fssd -BatchSize 64
        }).AddArgument($ModulePath).AddArgument($many)
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $async = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $output)
        $deadline = [DateTime]::UtcNow.AddMinutes(2)
        while ($output.Count -lt 200 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $output.Count | Should -BeGreaterOrEqual 200
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        Write-Host ("    Stop() returned after {0:F2} s with {1} of 50,000 results" -f $clock.Elapsed.TotalSeconds, $output.Count)
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        $stoppedAt = $output.Count
        $stoppedAt | Should -BeLessThan 50000
        Start-Sleep -Seconds 2
        $output.Count | Should -Be $stoppedAt -Because 'no scoring thread may still be writing'
        $ps.Dispose()
    }

    It 'refuses -Epsilon together with -Detector, and a layer the model lacks' {
        $d = Import-FssdDetector
        # -Epsilon belongs to the -Model sets only: PowerShell refuses the pair before the cmdlet runs.
        { Measure-Fssd -Path $sampleFiles[0].FullName -Detector $d -Epsilon 0.1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,Fssd.PowerShell.Commands.MeasureFssdCommand'
        { Measure-Fssd -Path $sampleFiles[0].FullName -Model $model -Layer nope -ErrorAction Stop } | Should -Throw '*no tap*nope*'
    }
}
