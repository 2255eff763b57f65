BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-export-detector-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $samples = Join-Path $RepoRoot 'examples/samples'
    $detector = Import-FssdDetector
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Export-FssdDetector -EmbedWeights' {
    It 'writes a detector that scores like the original from a folder holding nothing else, in a fresh process' {
        $file = $detector | Export-FssdDetector -Path (Join-Path $work 'export/one.fssd.yaml') -EmbedWeights
        $alone = Join-Path $work 'worker'
        $null = New-Item -ItemType Directory -Path $alone
        Copy-Item -LiteralPath $file.FullName -Destination $alone
        @(Get-ChildItem -LiteralPath $alone) | Should -HaveCount 1
        $expected = (Get-ChildItem $samples -Filter *.png | Sort-Object Name | Measure-Fssd -Detector $detector).Score | ForEach-Object { $_.ToString('R') }
        $cache = Join-Path $work 'cache'
        $out = Invoke-FreshPwsh @"
`$env:FSSD_WEIGHTS = '$cache'
Import-Module '$ModulePath'
`$d = Import-FssdDetector '$alone/one.fssd.yaml'
'weights: ' + `$d.Model.WeightsPath
(Get-ChildItem '$samples' -Filter *.png | Sort-Object Name | Measure-Fssd -Detector `$d).Score | ForEach-Object { `$_.ToString('R') }
"@
        $out[0] | Should -BeLike "weights: $cache/*/fashion-mnist-lenet.safetensors"
        @($out | Select-Object -Skip 1) | Should -Be $expected
    }

    It 'carries the weights file''s own bytes, and a detector exported without it does not' {
        $file = $detector | Export-FssdDetector -Path (Join-Path $work 'size/one.fssd.yaml') -EmbedWeights
        $beside = $detector | Export-FssdDetector -Path (Join-Path $work 'size/beside.fssd.yaml')
        $line = Select-String -LiteralPath $file.FullName -Pattern '^\s*weightsBase64: (\S+)$'
        $line | Should -HaveCount 1
        $bytes = [Convert]::FromBase64String($line.Matches[0].Groups[1].Value)
        $bytes.Length | Should -Be (Get-Item -LiteralPath $detector.Model.WeightsPath).Length
        [Linq.Enumerable]::SequenceEqual($bytes, [IO.File]::ReadAllBytes($detector.Model.WeightsPath)) | Should -BeTrue
        Write-Host ("    detector with weights {0:N0} bytes, without {1:N0}" -f $file.Length, $beside.Length)
        Select-String -LiteralPath $beside.FullName -Pattern 'weightsBase64' | Should -BeNullOrEmpty
    }

    It 'refuses an embedded detector whose weights were edited, with or without the file seal' {
        $file = $detector | Export-FssdDetector -Path (Join-Path $work 'edited/one.fssd.yaml') -EmbedWeights
        $text = [IO.File]::ReadAllText($file.FullName)
        $at = $text.IndexOf('weightsBase64: ') + 15 + 4000
        $swapped = if ($text[$at] -eq 'A') { 'B' } else { 'A' }
        [IO.File]::WriteAllText($file.FullName, $text.Substring(0, $at) + $swapped + $text.Substring($at + 1))
        Import-FssdDetector $file.FullName -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FssdModelInvalid,*'
        $err[0].Exception.Message | Should -Match 'was changed after it was written'
        # Skipping the whole-file seal still leaves the weights' own hash to catch it.
        Import-FssdDetector $file.FullName -SkipIntegrityCheck -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'FssdModelInvalid,*'
        $err2[0].Exception.Message | Should -Match 'carries weights with SHA-256 [0-9a-f]{64}, but records'
    }
}
