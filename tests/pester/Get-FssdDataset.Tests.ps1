BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-dataset-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work

    function New-IdxBytes([byte] $Dims, [int[]] $Shape, [byte[]] $Data) {
        $header = [Collections.Generic.List[byte]]::new()
        $header.AddRange([byte[]](0, 0, 8, $Dims))
        foreach ($d in $Shape) { $header.AddRange([byte[]]([BitConverter]::GetBytes([int]$d)[3..0])) }
        $header.AddRange($Data)
        , $header.ToArray()
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-FssdDataset' {
    It 'describes FashionMNIST''s test split with its class names' {
        $d = Get-FssdDataset FashionMNIST -Split test
        $d.Kind | Should -Be 'Idx'
        $d.Count | Should -Be 10000
        $d.IsLabeled | Should -BeTrue
        $d.ClassNames[0] | Should -Be 'T-shirt/top'
        $d.ClassNames[9] | Should -Be 'Ankle boot'
    }

    It 'reads a gzipped IDX file and finds its label file beside it' {
        $d = Get-FssdDataset -Path /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz -First 100
        $d.Count | Should -Be 100
        $d.LabelPath | Should -Match 't10k-labels-idx1-ubyte.gz$'
        $plain = Get-FssdSample (Get-FssdDataset FashionMNIST -Split test) -First 3
        $gz = Get-FssdSample $d -First 3
        for ($i = 0; $i -lt 3; $i++) {
            $gz[$i].Label | Should -Be $plain[$i].Label
            [Linq.Enumerable]::SequenceEqual([byte[]]$gz[$i].Pixels, [byte[]]$plain[$i].Pixels) | Should -BeTrue
        }
    }

    It 'reads class folders as an ImageFolder dataset with the folder names as classes' {
        $root = Join-Path $work 'classes'
        Export-FssdDataset -Dataset FashionMNIST/test -Path $root -PerClass 3 -First 12
        $d = Get-FssdDataset -Path $root
        $d.Kind | Should -Be 'ImageFolder'
        $d.ClassNames.Count | Should -BeGreaterThan 1
        $d.Count | Should -Be 12
        $d.ClassNames | Should -Be ($d.ClassNames | Sort-Object { $_ } -CaseSensitive)
    }

    It 'reads a folder of loose images, and a listing from the pipeline, as unlabeled files' {
        $root = Join-Path $work 'loose'
        Get-FssdSample MNIST | Where-Object Label -eq 7 | Select-Object -First 4 | Export-FssdDataset -Path $root
        $loose = Join-Path $root '7'
        $d = Get-FssdDataset -Path $loose
        $d.Kind | Should -Be 'Files'
        $d.IsLabeled | Should -BeFalse
        $d.Count | Should -Be 4
        $listed = Get-ChildItem $loose -Filter *.png | Select-Object -First 3 | Get-FssdDataset
        $listed.Count | Should -Be 3
        $listed.Kind | Should -Be 'Files'
    }

    It 'refuses an IDX file whose header disagrees with its length, naming the file and both sizes' {
        $bad = Join-Path $work 'short-images-idx3-ubyte'
        [IO.File]::WriteAllBytes($bad, (New-IdxBytes 3 @(10, 28, 28) ([byte[]]::new(28 * 28 * 9))))
        Get-FssdDataset -Path $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'short-images-idx3-ubyte'
        $err[0].Exception.Message | Should -Match '7840 bytes of data, but the file holds 7056'
    }

    It 'refuses labels out of range for the class names given, naming the index' {
        $images = Join-Path $work 'range-images-idx3-ubyte'
        $labels = Join-Path $work 'range-labels-idx1-ubyte'
        [IO.File]::WriteAllBytes($images, (New-IdxBytes 3 @(3, 2, 2) ([byte[]]::new(12))))
        [IO.File]::WriteAllBytes($labels, (New-IdxBytes 1 @(3) ([byte[]](0, 1, 12))))
        Get-FssdDataset -Path $images -ClassNames a, b, c -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'label 12 at index 2 is out of range for 3 classes'
    }

    It 'refuses a class folder without images, naming it' {
        $root = Join-Path $work 'emptyclass'
        Export-FssdDataset -Dataset FashionMNIST/test -Path $root -First 2
        $null = New-Item -ItemType Directory -Path (Join-Path $root 'Nothing here')
        Get-FssdDataset -Path $root -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'Nothing here'
        $err[0].Exception.Message | Should -Match 'holds no images'
    }
}

Describe 'Get-FssdSample' {
    It 'streams typed samples in order with labels and class names' {
        $s = Get-FssdSample FashionMNIST/test -First 5
        $s | Should -HaveCount 5
        $s[0] | Should -BeOfType ([Fssd.FssdSample])
        $s.Index | Should -Be @(0, 1, 2, 3, 4)
        $s[0].ClassName | Should -Be 'Ankle boot'
        $s[0].Pixels.Length | Should -Be 784
    }

    It 'reports a corrupt image in a class folder as a non-terminating error naming it, and goes on' {
        $root = Join-Path $work 'corrupt'
        Export-FssdDataset -Dataset FashionMNIST/test -Path $root -First 6
        $class = (Get-ChildItem $root -Directory)[0].FullName
        [IO.File]::WriteAllBytes((Join-Path $class 'broken.png'), [byte[]](0x89, 0x50, 0x4E, 0x47, 1, 2, 3))
        $s = Get-FssdSample -Dataset $root -ErrorVariable err -ErrorAction SilentlyContinue
        $s | Should -HaveCount 6
        $err | Should -HaveCount 1
        $err[0].TargetObject | Should -Match 'broken\.png$'
        $err[0].Exception.Message | Should -Match 'broken\.png'
    }

    It 'converts to RGB on request' {
        $s = Get-FssdSample FashionMNIST/test -First 1 -ColorMode Rgb
        $s.Channels | Should -Be 3
        $s.Pixels.Length | Should -Be (28 * 28 * 3)
    }
}
