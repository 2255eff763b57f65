BeforeDiscovery {
    # Every view the module defines gets a case; a type added to the format file without objects below fails.
    [xml] $format = Get-Content -LiteralPath (Join-Path $PSScriptRoot '../../module/Fssd.Format.ps1xml') -Raw
    $viewTypes = @($format.Configuration.ViewDefinitions.View | ForEach-Object { $_.ViewSelectedBy.TypeName })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-views-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $samples = Join-Path $RepoRoot 'examples/samples'
    $files = @(Get-ChildItem -LiteralPath $samples -Filter *.png | Sort-Object Name)

    # Real objects from the cmdlets wherever they are cheap to make; the rest as the cmdlets fill them.
    $model = Import-FssdModel
    $detector = Import-FssdDetector
    $paper = Import-FssdDetector (Join-Path $ModulePath 'models/fashion-mnist-lenet.paper.fssd.yaml')
    $scores = @($files | Measure-Fssd)
    $raw = @($files[0..1] | Measure-Fssd -Model $model)
    $dataset = Get-FssdDataset -Path $samples
    $csv = Join-Path $work 'results.csv'
    $files | Measure-Fssd -ResultPath $csv -ShardRoot $samples
    Set-Content -LiteralPath (Join-Path $work 'broken.png') 'not an image'
    Measure-Fssd -LiteralPath (Join-Path $work 'broken.png') -ResultPath (Join-Path $work 'broken.csv') -ShardRoot $work -ErrorAction SilentlyContinue
    $merge = Join-FssdResult -LiteralPath $csv, (Join-Path $work 'broken.csv')
    $garments = @($scores | Where-Object Name -like 'fashion-*')
    $digits = @($scores | Where-Object Name -like 'mnist-*')
    $classes = @(
        [Fssd.FssdClassAccuracy]@{ Label = 0; ClassName = 'T-shirt/top'; Count = 100; Correct = 86 }
        [Fssd.FssdClassAccuracy]@{ Label = 1; ClassName = 'Trouser'; Count = 100; Correct = 98 })
    $epochs = @(1, 2 | ForEach-Object { [Fssd.FssdEpochResult]@{ Epoch = $_; Loss = 0.5 / $_; Accuracy = 0.8 + $_ / 100; LearningRate = 0.01; Seconds = 12.5 } })

    $objects = @{
        'Fssd.FssdContextInfo'        = @(Get-FssdContext)
        'Fssd.FssdModel'              = @($model)
        'Fssd.FssdLayerInfo'          = @($model.Layers)
        'Fssd.FssdDataset'            = @($dataset)
        'Fssd.FssdSample'             = @($dataset | Get-FssdSample -First 3)
        'Fssd.FssdAccuracy'           = @([Fssd.FssdAccuracy]@{ Model = $model.Name; Dataset = 'FashionMNIST/test'; Count = 200; Correct = 184; PerClass = [Fssd.FssdClassAccuracy[]]$classes; Skipped = 1; Seconds = 0.7 })
        'Fssd.FssdClassAccuracy'      = $classes
        'Fssd.FssdPrediction'         = @($files[0..2] | Get-FssdPrediction)
        'Fssd.FssdEpochResult'        = $epochs
        'Fssd.FssdTrainingInfo'       = @([Fssd.FssdTrainingInfo]@{ Dataset = 'FashionMNIST/train'; TrainingCount = 60000; ValidationDataset = 'FashionMNIST/test'; ValidationCount = 10000;
                                             EpochsRequested = 2; BatchSize = 128; Optimizer = 'SGD'; LearningRate = 0.01; Schedule = 'cosine'; Seed = 1; Threads = 2; Epochs = [Fssd.FssdEpochResult[]]$epochs })
        'Fssd.FssdScore'              = $scores + $raw
        'Fssd.FssdMetrics'            = @(Get-FssdMetrics -InDistribution $garments -OutOfDistribution $digits)
        'Fssd.FssCenter'              = @(New-FssdCenter -Model $model -NoiseSamples 8 -Seed 0)
        'Fssd.FssdDetector'           = @($detector, $paper)
        'Fssd.FssdCalibrationTrial'   = @($paper.Trials | Select-Object -First 3)
        'Fssd.FssdDetectorLayer'      = @($detector.Layers)
        'Fssd.FssdPseudoOutlierTrial' = @($detector.PseudoOutliers | Select-Object -First 3)
        'Fssd.FssdBenchmarkRow'       = @([Fssd.FssdBenchmarkRow]@{ Benchmark = 'FashionMnistVsMnist'; Method = 'FSSD-Ensem'; AUROC = 0.996; PaperAUROC = 0.996; AUPRC = 0.995; PaperAUPRC = 0.996
                                             FPR80 = 0.001; PaperFPR80 = 0.0; Seconds = 41; Settings = 'eps 0.07' })
        'Fssd.FssdConcentrationRow'   = @([Fssd.FssdConcentrationRow]@{ Step = 500; Tap = 'fc1'; FssdIn = 31.2; FssdOut = 11.8; MovedIn = 30.1; MovedOut = 10.2; SpeedIn = 0.061; SpeedOut = 0.021; AUROC = 0.996; Accuracy = 0.97; InCount = 2000; OutCount = 2000 })
        'Fssd.FssdRobustnessRow'      = @([Fssd.FssdRobustnessRow]@{ Benchmark = 'FashionMnistCorrupted'; Method = 'FSSD'; Corruption = 'GaussianNoise'; Level = 3; Severity = 0.3; AUROC = 0.91 })
        'Fssd.FssdResultMerge'        = @($merge)
        'Fssd.FssdResultRow'          = @($merge.Rows)
    }

    # The text a view shows in each of its columns for one object ($null for an empty cell).
    function Get-CellText($Object, $Entry) {
        $value = if ($Entry.ValueType -eq 'Property') { $Object.($Entry.Value) }
                 else { $Object | ForEach-Object ([scriptblock]::Create($Entry.Value)) }
        $text = "$value".Trim()
        if ($text) { $text } else { $null }
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Format views' {
    It 'has objects for <_>, which show a value in every column and fit 80 columns' -ForEach $viewTypes {
        $type = $_
        $items = @($objects[$type])
        $items.Count | Should -BeGreaterThan 0 -Because "the test needs $type objects"
        $items[0].PSObject.TypeNames | Should -Contain $type
        $view = (Get-FormatData -TypeName $type -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition[0]
        $control = $view.Control
        $entries = if ($control -is [System.Management.Automation.TableControl]) {
            for ($i = 0; $i -lt $control.Headers.Count; $i++) {
                [pscustomobject]@{ Label = $(if ($control.Headers[$i].Label) { $control.Headers[$i].Label } else { $control.Rows[0].Columns[$i].DisplayEntry.Value }); Entry = $control.Rows[0].Columns[$i].DisplayEntry
                    Width = $control.Headers[$i].Width; Right = "$($control.Headers[$i].Alignment)" -eq 'Right'; Format = $control.Rows[0].Columns[$i].FormatString }
            }
        } else {
            foreach ($item in $control.Entries[0].Items) {
                [pscustomobject]@{ Label = $(if ($item.Label) { $item.Label } else { $item.DisplayEntry.Value }); Entry = $item.DisplayEntry }
            }
        }
        foreach ($object in $items) {
            foreach ($column in $entries) {
                $cell = Get-CellText $object $column.Entry
                $cell | Should -Not -BeNullOrEmpty -Because "$type shows '$($column.Label)' for $object"
                # Numbers are right-aligned: one cut short loses its leading digits, so each must fit its column.
                if ($column.PSObject.Properties['Right'] -and $column.Right -and $column.Width -gt 0) {
                    if ($column.Format) { $cell = $column.Format -f $(if ($column.Entry.ValueType -eq 'Property') { $object.($column.Entry.Value) } else { $cell }) }
                    "$cell".Length | Should -BeLessOrEqual $column.Width -Because "$type's '$($column.Label)' shows '$cell' in $($column.Width) columns"
                }
            }
        }
        $text = $items | Out-String -Width 80
        foreach ($line in $text -split "`r?`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 80 -Because "'$line'" }
        if ($control -is [System.Management.Automation.TableControl]) {
            $header = ($text -split "`r?`n" | Where-Object { $_ -match '\S' -and $_ -notmatch '^\s*(Folder|Model|Benchmark):' } | Select-Object -First 1)
            foreach ($column in $entries) { $header | Should -Match ([regex]::Escape($column.Label)) -Because "$type at 80 columns keeps '$($column.Label)'" }
        }
    }

    It 'names the file of each score, grouped by its folder, in the score table' {
        $text = $scores | Out-String -Width 80
        $text | Should -Match ([regex]::Escape("Folder: $samples"))
        $text | Should -Match 'mnist-digit0-00023\.png'
        $text | Should -Not -Match ([regex]::Escape((Join-Path $samples 'mnist-digit0-00023.png')))
    }
}
