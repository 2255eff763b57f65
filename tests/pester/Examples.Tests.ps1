BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-examples-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $samples = Join-Path $RepoRoot 'examples/samples'
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The example scripts' {
    It 'every PowerShell script of the repository parses (benchmarks and build scripts run rarely, so a typo would wait)' {
        $scripts = @(Get-ChildItem (Join-Path $RepoRoot 'bench'), (Join-Path $RepoRoot 'examples'), (Join-Path $RepoRoot 'build') -Recurse -Filter *.ps1) +
            @(Get-Item (Join-Path $RepoRoot 'build.ps1'))
        $scripts.Count | Should -BeGreaterThan 8
        foreach ($script in $scripts) {
            $tokens = $null; $errors = $null
            $null = [Management.Automation.Language.Parser]::ParseFile($script.FullName, [ref] $tokens, [ref] $errors)
            ($errors | ForEach-Object { "$($script.Name):$($_.Extent.StartLineNumber): $($_.Message)" }) -join "`n" | Should -BeNullOrEmpty
        }
    }

    It 'Demo scores the twelve sample images with the default detector' {
        $out = Invoke-FreshPwsh "& '$RepoRoot/examples/Demo.ps1' -ModulePath '$ModulePath'"
        $text = $out -join "`n"
        $text | Should -Match 'Model: fashion-mnist-lenet, LeNet'
        foreach ($f in Get-ChildItem $samples -Filter *.png) {
            $text | Should -Match ([regex]::Escape(($f.BaseName -replace '^fashion-mnist-', 'fashion-' -replace '-\d+$', '')))
        }
        $text | Should -Match 'Paper-protocol detector: FSSD-Ensem over conv1, conv2, fc1, logits'
        $text | Should -Match 'Default detector: FSSD-Ensem over conv1, conv2, fc1, logits, eps -?[\d.]+, OutlierFree, with Knn layers knn_fc1, knn_conv2_std'
        $text | Should -Match 'never saw a digit, flags \d of 6 digits and \d of 6 garments'
    }

    It 'ships a paper-protocol detector that flags every MNIST example digit, and a default one that never saw MNIST' {
        Import-Module $ModulePath
        $default = Import-FssdDetector
        $paper = Import-FssdDetector (Join-Path $ModulePath 'models/fashion-mnist-lenet.paper.fssd.yaml')
        $default.ValidationSource | Should -Not -Match 'MNIST digits'
        $paper.Calibration | Should -Be 'OodValidation'
        $paper.ValidationSource | Should -Match 'MNIST digits 1000-1999'
        $digits = Get-ChildItem $samples -Filter 'mnist-*.png' | Measure-Fssd -Detector $paper
        $digits | Should -HaveCount 6
        $digits | ForEach-Object { $_.IsOutOfDistribution | Should -BeTrue }
    }

    It 'Quarantine-OutOfDistribution moves exactly the flagged files, whatever their names, and writes every score' {
        $incoming = Join-Path $work 'incoming'
        $quarantine = Join-Path $work 'quarantine'
        $nested = Join-Path $incoming 'sub [1]'
        $null = New-Item -ItemType Directory -Path $incoming
        $null = [IO.Directory]::CreateDirectory($nested)
        $names = @(Awkward-Names)
        $sources = @(Get-ChildItem $samples -Filter *.png)
        for ($i = 0; $i -lt $sources.Count; $i++) {
            $folder = if ($i % 2) { $nested } else { $incoming }
            Copy-Item -LiteralPath $sources[$i].FullName -Destination ([IO.Path]::Combine($folder, ($names[$i % $names.Count] -replace '\.png$', "-$i.png")))
        }
        Set-Content -LiteralPath (Join-Path $incoming 'broken.png') 'not an image'
        $out = Invoke-FreshPwsh "& '$RepoRoot/examples/Quarantine-OutOfDistribution.ps1' -Incoming '$incoming' -Quarantine '$quarantine' -ModulePath '$ModulePath' 2>`$null"
        $rows = Import-Csv -LiteralPath (Join-Path $quarantine 'scores.csv')
        $rows | Should -HaveCount $sources.Count
        $flagged = @($rows | Where-Object IsOutOfDistribution -eq 'True')
        $flagged.Count | Should -BeGreaterThan 0
        $moved = @(Get-ChildItem -LiteralPath $quarantine -Recurse -File -Filter *.png)
        @($moved.Name | Sort-Object) | Should -Be @($flagged.Name | Sort-Object)
        foreach ($row in $flagged) { Test-Path -LiteralPath $row.FullName | Should -BeFalse -Because "$($row.FullName) was flagged" }
        @(Get-ChildItem -LiteralPath $incoming -Recurse -File -Filter *.png).Count | Should -Be ($sources.Count + 1 - $flagged.Count)
        ($out -join "`n") | Should -Match ("{0} file\(s\) scored, {1} flagged, {1} moved" -f $sources.Count, $flagged.Count)
        $rows[0].PSObject.Properties.Name | Should -Contain 'Fssd_fc1'
    }
}
