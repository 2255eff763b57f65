BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-export-ds-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Export-FssdDataset' {
    It 'writes one folder per class, with file-system-safe names' {
        $root = Join-Path $work 'perclass'
        $files = Export-FssdDataset -Dataset FashionMNIST/test -Path $root -PerClass 2 -PassThru
        $files | Should -HaveCount 20
        (Get-ChildItem $root -Directory).Name | Should -Contain 'T-shirt_top'
        (Get-ChildItem $root -Directory).Name | Should -Contain 'Ankle boot'
        Get-ChildItem $root -Directory | ForEach-Object { (Get-ChildItem $_.FullName -File).Count | Should -Be 2 }
    }

    It 'writes PNGs that decode to exactly the pixels they came from' {
        $root = Join-Path $work 'roundtrip'
        $original = Get-FssdSample MNIST -First 10
        $original | Export-FssdDataset -Path $root
        $back = Get-FssdSample (Get-FssdDataset -Path $root)
        $back | Should -HaveCount 10
        foreach ($b in $back) {
            $o = $original | Where-Object Index -eq ([int]($b.FullName -replace '.*-(\d+)\.png$', '$1'))
            $b.ClassName | Should -Be $o.ClassName
            [Linq.Enumerable]::SequenceEqual([byte[]]$b.Pixels, [byte[]]$o.Pixels) | Should -BeTrue
        }
    }

    It 'round-trips RGB pixels too' {
        $root = Join-Path $work 'rgb'
        $rgb = Get-FssdSample FashionMNIST/test -First 2 -ColorMode Rgb
        for ($i = 0; $i -lt $rgb[0].Pixels.Length; $i += 3) { $rgb[0].Pixels[$i] = 255 - $rgb[0].Pixels[$i] }
        $rgb | Export-FssdDataset -Path $root
        $back = Get-FssdSample (Get-FssdDataset -Path $root) -ColorMode Rgb | Sort-Object { $_.FullName }
        $first = $back | Where-Object FullName -Match '-00000\.png$'
        [Linq.Enumerable]::SequenceEqual([byte[]]$first.Pixels, [byte[]]$rgb[0].Pixels) | Should -BeTrue
    }

    It 'writes nothing with -WhatIf' {
        $root = Join-Path $work 'whatif'
        Export-FssdDataset -Dataset MNIST -Path $root -First 3 -WhatIf
        $root | Should -Not -Exist
    }
}
