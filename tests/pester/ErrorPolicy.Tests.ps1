BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-errors-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $sample = (Get-ChildItem (Join-Path $RepoRoot 'examples/samples') -Filter *.png | Select-Object -First 1).FullName
    $model = Import-FssdModel

    # Runs a command that must stop with a terminating error; returns that error's record.
    function Get-TerminatingError([scriptblock] $Command) {
        try { & $Command | Out-Null } catch { return $_ }
        throw 'The command did not stop with an error.'
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'One error policy: the cause gives the id and category, the target is the input at fault' {
    It 'a tap the model lacks stops the command, targeted at the tap name (Measure-Fssd, New-FssdDetector)' {
        foreach ($command in { Measure-Fssd -Path $sample -Model $model -Layer nope -ErrorAction Stop },
                             { New-FssdDetector -Model $model -InDistribution $sample -Layer nope -ErrorAction Stop }) {
            $e = Get-TerminatingError $command
            $e.FullyQualifiedErrorId | Should -BeLike 'FssdLayerUnknown*'
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.TargetObject | Should -Be 'nope'
        }
    }

    It 'an argument that does not fit the others is FssdArgumentInvalid, not a layer error' {
        $e = Get-TerminatingError { New-FssdDetector -Model $model -InDistribution $sample -OutlierFree -OutOfDistribution $sample -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdArgumentInvalid*'
        $e.Exception.Message | Should -Match 'OoD'
    }

    It 'a model or detector file that does not exist is ObjectNotFound naming the file (Import-FssdModel, Import-FssdDetector)' {
        $missing = Join-Path $work 'missing.pt'
        $e = Get-TerminatingError { Import-FssdModel $missing -Architecture LeNet -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdPathNotFound*'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.TargetObject | Should -Be $missing
        Import-FssdDetector (Join-Path $work 'missing.fssd.yaml') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FssdPathNotFound*'
    }

    It 'a file of the wrong kind is FssdModelInvalid and says what it is' {
        $e = Get-TerminatingError { Import-FssdModel $sample -Architecture LeNet -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdModelInvalid*'
        $e.Exception.Message | Should -Match 'PNG image'
    }

    It 'one bad file among good ones is a non-terminating error and the others are scored' {
        $bad = Join-Path $work 'bad.png'
        Set-Content -LiteralPath $bad -Value 'not an image'
        $scores = Measure-Fssd -LiteralPath $sample, $bad, $sample -ErrorVariable err -ErrorAction SilentlyContinue
        $scores | Should -HaveCount 2
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FssdImageUnreadable*'
        $err[0].TargetObject | Should -Be $bad
    }

    It 'a device name that names no device, and a device this build lacks, are told apart (Set-FssdContext)' {
        $e = Get-TerminatingError { Set-FssdContext -Device gpu -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdInvalidDevice*'
        $e.TargetObject | Should -Be 'gpu'
        $e = Get-TerminatingError { Set-FssdContext -Device cuda -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdDeviceUnavailable*'
        $e.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
    }

    It 'a classifier option that cannot work stops New-FssdClassifier before any data is read' {
        $e = Get-TerminatingError { New-FssdClassifier LeNet -TrainingSet FashionMNIST/test -OutputPath $work -InputSize 32, 32 -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdArgumentInvalid*'
        $e.Exception.Message | Should -Match '28x28'
        $resnet = Import-FssdModel (Join-Path $RepoRoot 'tests/fixtures/models/resnet18_cifar.pt') -Architecture ResNet18
        $e = Get-TerminatingError { New-FssdClassifier LeNet -TrainingSet FashionMNIST/test -OutputPath $work -InitialModel $resnet -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdArgumentInvalid*'
        $e.Exception.Message | Should -Match 'ResNet18'
    }

    It 'metrics from scores that are not numbers stop Get-FssdMetrics with an argument error' {
        $e = Get-TerminatingError { Get-FssdMetrics -InDistribution @('x') -OutOfDistribution @(1) -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'FssdArgumentInvalid*'
    }

    It 'a removed model is FssdModelNotLoaded wherever it is used' {
        $m = Import-FssdModel (Join-Path $RepoRoot 'tests/fixtures/models/lenet.pt') -Architecture LeNet -Name removed-for-errors
        $m | Remove-FssdModel
        foreach ($command in { Measure-Fssd -Path $sample -Model $m -ErrorAction Stop }, { New-FssdCenter -Model $m -ErrorAction Stop },
                             { Get-FssdPrediction -Path $sample -Model $m -ErrorAction Stop }) {
            (Get-TerminatingError $command).FullyQualifiedErrorId | Should -BeLike 'FssdModelNotLoaded*'
        }
    }
}
