BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-pipeline-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $samples = Join-Path $RepoRoot 'examples/samples'
    $sampleFiles = @(Get-ChildItem -LiteralPath $samples -Filter *.png | Sort-Object Name)
    $paperDetector = Join-Path $ModulePath 'models/fashion-mnist-lenet.paper.fssd.yaml'

    # The twelve samples under awkward names: digits (out of distribution for every shipped detector) and garments.
    function New-AwkwardFolder([string] $Name) {
        $folder = Join-Path $work $Name
        $null = [IO.Directory]::CreateDirectory($folder)
        $names = @(Awkward-Names)
        for ($i = 0; $i -lt $sampleFiles.Count; $i++) {
            $kind = if ($sampleFiles[$i].Name -like 'mnist-*') { 'digit' } else { 'garment' }
            $name = "$kind $i " + $names[$i % $names.Count]
            Copy-Item -LiteralPath $sampleFiles[$i].FullName -Destination ([IO.Path]::Combine($folder, $name))
        }
        $folder
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Measure-Fssd scores pipe into the file cmdlets' {
    It 'Get-ChildItem | Measure-Fssd | Where-Object IsOutOfDistribution | Move-Item moves every flagged file, whatever its name' {
        $incoming = New-AwkwardFolder 'move-in'
        $quarantine = Join-Path $work 'move-q'
        $null = New-Item -ItemType Directory -Path $quarantine
        $scores = @(Get-ChildItem -LiteralPath $incoming | Measure-Fssd -Detector $paperDetector)
        $flagged = @($scores | Where-Object IsOutOfDistribution)
        @($flagged.Name | Where-Object { $_ -like 'digit *' }) | Should -HaveCount 6 -Because 'the paper-protocol detector flags every example digit'
        Get-ChildItem -LiteralPath $incoming | Measure-Fssd -Detector $paperDetector | Where-Object IsOutOfDistribution | Move-Item -Destination $quarantine
        @(Get-ChildItem -LiteralPath $quarantine).Name | Sort-Object | Should -Be @($flagged.Name | Sort-Object)
        @(Get-ChildItem -LiteralPath $incoming).Name | Sort-Object | Should -Be @($scores | Where-Object { -not $_.IsOutOfDistribution } | ForEach-Object Name | Sort-Object)
    }

    It 'the same recipe with the default detector moves exactly what it flagged' {
        $incoming = New-AwkwardFolder 'default-in'
        $quarantine = Join-Path $work 'default-q'
        $null = New-Item -ItemType Directory -Path $quarantine
        $flagged = @(Get-ChildItem -LiteralPath $incoming | Measure-Fssd | Where-Object IsOutOfDistribution)
        $flagged | Move-Item -Destination $quarantine
        @(Get-ChildItem -LiteralPath $quarantine).Name | Sort-Object | Should -Be @($flagged.Name | Sort-Object)
        @(Get-ChildItem -LiteralPath $incoming).Count | Should -Be (12 - $flagged.Count)
    }

    It 'Copy-Item and Remove-Item take the scored files literally too' {
        $incoming = New-AwkwardFolder 'copy-in'
        $copies = Join-Path $work 'copies'
        $null = New-Item -ItemType Directory -Path $copies
        $scores = @(Get-ChildItem -LiteralPath $incoming | Measure-Fssd)
        $scores | Copy-Item -Destination $copies
        @(Get-ChildItem -LiteralPath $copies).Name | Sort-Object | Should -Be @($scores.Name | Sort-Object)
        $scores | Remove-Item
        @(Get-ChildItem -LiteralPath $incoming) | Should -HaveCount 0
    }

    It 'gives Export-Csv the file and score first, then verdict and class, then one column per tap in the model order' {
        $csv = Join-Path $work 'scores.csv'
        $sampleFiles | Measure-Fssd | Export-Csv -LiteralPath $csv
        $header = (Get-Content -LiteralPath $csv -TotalCount 1) -replace '"', '' -split ','
        $header[0..8] | Should -Be @('FullName', 'Score', 'IsOutOfDistribution', 'PredictedClass', 'Confidence', 'Fssd_conv1', 'Fssd_conv2', 'Fssd_fc1', 'Fssd_logits')
        $rows = @(Import-Csv -LiteralPath $csv)
        $rows | Should -HaveCount 12
        $rows[0].LayerScores | Should -Match '^conv1=[-\d.e]+ conv2=[-\d.e]+ fc1=[-\d.e]+ logits=[-\d.e]+ knn_fc1=[-\d.e]+ knn_conv2_std=[-\d.e]+$'
        $rows[0].FullName | Should -Be $sampleFiles[0].FullName
    }

    It 'orders taps as the model does, whatever order -Layer names them in, and scores the first named' {
        $model = Import-FssdModel
        $score = $sampleFiles[0] | Measure-Fssd -Model $model -Layer logits, conv1
        @($score.LayerScores.Keys) | Should -Be @('conv1', 'logits')
        $score.Score | Should -Be $score.LayerScores['logits']
        $score.Fssd_logits | Should -Be $score.LayerScores['logits']
    }
}

Describe 'Measure-Fssd modes and honest defaults' {
    It 'takes a detector file path for -Detector, as Import-FssdDetector reads it' {
        $byPath = $sampleFiles | Measure-Fssd -Detector $paperDetector
        $byObject = $sampleFiles | Measure-Fssd -Detector (Import-FssdDetector $paperDetector)
        $byPath.Score | Should -Be $byObject.Score
        { $sampleFiles[0] | Measure-Fssd -Detector (Join-Path $work 'none.fssd.yaml') -ErrorAction Stop } | Should -Throw -ExpectedMessage '*none.fssd.yaml*does not exist*'
    }

    It 'refuses options the mode does not use: -Layer, -Epsilon, -Center and -Perturbation only go with -Model' {
        foreach ($set in (Get-Command Measure-Fssd).ParameterSets) {
            $names = $set.Parameters.Name
            if ($names -contains 'Layer' -or $names -contains 'Epsilon' -or $names -contains 'Center' -or $names -contains 'Perturbation') {
                ($set.Parameters | Where-Object Name -eq 'Model').IsMandatory | Should -BeTrue -Because "set $($set.Name)"
                $names | Should -Not -Contain 'Detector'
            }
        }
        { $sampleFiles[0] | Measure-Fssd -Detector $paperDetector -Layer fc1 -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
        { Measure-Fssd -LiteralPath $sampleFiles[0].FullName -Epsilon 0.01 -ErrorAction Stop } | Should -Throw -ErrorId 'MissingMandatoryParameter*'
    }

    It 'warns once when the default detector meets colour or large images, and not when a detector is given' {
        $photos = Join-Path $work 'photos'
        $null = New-Item -ItemType Directory -Path $photos
        $rng = [Random]::new(3)
        $colour = 1..3 | ForEach-Object {
            $pixels = [byte[]]::new(240 * 320 * 3)
            $rng.NextBytes($pixels)
            [Fssd.FssdSample]@{ Dataset = 'noise'; Index = $_; Height = 240; Width = 320; Channels = 3; Pixels = $pixels }
        }
        $colour | Export-FssdDataset -Path $photos
        $files = @(Get-ChildItem -LiteralPath $photos -Recurse -File)
        $scores = $files | Measure-Fssd -WarningVariable warned 3>$null
        $scores | Should -HaveCount 3
        $warned | Should -HaveCount 1
        "$($warned[0])" | Should -Match 'in colour, the model sees gray; 320 x 240 pixels, the model''s inputs are 28 x 28'
        "$($warned[0])" | Should -Match 'New-FssdDetector'
        $null = $files | Measure-Fssd -Detector $paperDetector -WarningVariable quiet 3>$null
        $quiet | Should -HaveCount 0
        $null = $sampleFiles | Measure-Fssd -WarningVariable none 3>$null
        $none | Should -HaveCount 0 -Because 'the example images are 28 x 28 gray'
    }

    It 'writes the results of a producer that pauses as they come, not when a batch fills' {
        $emitted = [Collections.Generic.List[int]]::new()
        $seen = [Collections.Generic.List[int]]::new()
        $sampleFiles[0..3] | ForEach-Object { Start-Sleep -Milliseconds 600; $emitted.Add(1); $_ } |
            Measure-Fssd | ForEach-Object { $seen.Add($emitted.Count) }
        # Each result arrives before the producer hands over the next file.
        $seen | Should -Be @(1, 2, 3, 4)
    }
}
