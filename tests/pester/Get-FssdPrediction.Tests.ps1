BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $samples = Join-Path $RepoRoot 'examples/samples'
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-predict-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-FssdPrediction' {
    It 'classifies the FashionMNIST example images as the class their file names say' {
        $p = Get-ChildItem $samples -Filter 'fashion-mnist-*.png' | Get-FssdPrediction
        $p | Should -HaveCount 6
        $p[0] | Should -BeOfType ([Fssd.FssdPrediction])
        $right = $p | Where-Object { (Split-Path -Leaf $_.FullName) -like ('fashion-mnist-{0}-*' -f ($_.PredictedClass -replace '/', '_').ToLowerInvariant()) }
        $right.Count | Should -BeGreaterOrEqual 5
    }

    It 'keeps input order and goes on past a file it cannot decode' {
        $bad = Join-Path $work 'not-an-image.png'
        Set-Content -LiteralPath $bad -Value 'hello'
        $files = @(Get-ChildItem $samples -Filter *.png | Select-Object -First 3 | ForEach-Object FullName)
        $inputs = @($files[0], $bad, $files[1], $files[2])
        $p = $inputs | Get-FssdPrediction -BatchSize 2 -ErrorVariable err -ErrorAction SilentlyContinue
        $p.FullName | Should -Be @($files[0], $files[1], $files[2])
        $err | Should -HaveCount 1
        $err[0].TargetObject | Should -Be $bad
    }

    It 'converts an RGB image to the model''s gray input' {
        $root = Join-Path $work 'rgb'
        $predictions = @(Get-FssdSample FashionMNIST/test -First 1 -ColorMode Rgb | Export-FssdDataset -Path $root -PassThru | Get-FssdPrediction)
        $predictions | Should -HaveCount 1
        $predictions[0].PredictedClass | Should -Be 'Ankle boot'
    }
}
