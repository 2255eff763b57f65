BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-join-$([guid]::NewGuid().ToString('N'))"
    $photos = Join-Path $work 'photos'
    $results = Join-Path $work 'results'
    Get-FssdSample FashionMNIST/test -First 90 | Export-FssdDataset -Path $photos | Out-Null
    $detector = Import-FssdDetector
    foreach ($k in 0..2) {
        Get-ChildItem -LiteralPath $photos -Recurse -File |
            Measure-Fssd -Detector $detector -Shard $k -ShardCount 3 -ShardRoot $photos -ResultPath (Join-Path $results "shard-$k-of-3.csv")
    }
    $shardFiles = @(0..2 | ForEach-Object { Join-Path $results "shard-$_-of-3.csv" })
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Join-FssdResult' {
    It 'merges the shards of a folder into one row per file, none missing' {
        $merge = Join-FssdResult (Join-Path $results '*.csv') -Expected $photos -Root $photos
        $merge.Rows | Should -HaveCount 90
        $merge.ExpectedCount | Should -Be 90
        $merge.Missing | Should -BeNullOrEmpty
        $merge.Duplicates | Should -BeNullOrEmpty
        $merge.IsComplete | Should -BeTrue
        $merge.Sources | Should -HaveCount 3
        $merge.Rows[0].LayerScores.Keys | Should -Be @('conv1', 'conv2', 'fc1', 'logits', 'knn_fc1', 'knn_conv2_std')
    }

    It 'reports the files of a shard left out, and a shard given twice as duplicates, losing no row' {
        $copy = Join-Path $work 'copy-of-shard-0.csv'
        Copy-Item -LiteralPath $shardFiles[0] -Destination $copy
        $merge = Join-FssdResult -LiteralPath $shardFiles[0], $copy, $shardFiles[1] -Expected $photos -Root $photos -WarningVariable warned 3>$null
        $shard0 = @(Import-Csv -LiteralPath $shardFiles[0])
        $shard2 = @(Import-Csv -LiteralPath $shardFiles[2])
        @($merge.Missing | Sort-Object) | Should -Be @($shard2.Path | Sort-Object)
        @($merge.Duplicates.Path | Sort-Object) | Should -Be @($shard0.Path | Sort-Object)
        $merge.Duplicates | ForEach-Object { $_.Source | Should -Be $copy }
        $merge.Conflicts | Should -BeNullOrEmpty
        $merge.Rows.Count + $merge.Duplicates.Count | Should -Be (2 * $shard0.Count + @(Import-Csv -LiteralPath $shardFiles[1]).Count)
        "$warned" | Should -Match "$($shard2.Count) of 90 expected file"
        $merge.IsComplete | Should -BeFalse
    }

    It 'writes the merged table as a CSV Import-Csv reads, and keeps an existing one without -Force' {
        $all = Join-Path $work 'all.csv'
        $merge = Join-FssdResult $shardFiles -Destination $all
        $merge.Destination | Should -Be $all
        $rows = @(Import-Csv -LiteralPath $all)
        $rows | Should -HaveCount 90
        $rows[0].PSObject.Properties.Name | Should -Be @('Path', 'Score', 'IsOutOfDistribution', 'PredictedClass', 'Confidence', 'Fssd_conv1', 'Fssd_conv2', 'Fssd_fc1', 'Fssd_logits',
            'Fssd_knn_fc1', 'Fssd_knn_conv2_std', 'Error')
        { Join-FssdResult $shardFiles -Destination $all -ErrorAction Stop } | Should -Throw -ErrorId 'FssdMergeExists,*'
        (Join-FssdResult $all).Rows.Count | Should -Be 90
    }

    It 'warns when no row matches the listing because -Root is not the workers'' shard root' {
        $merge = Join-FssdResult $shardFiles -Expected $photos -Root $work -WarningVariable warned 3>$null
        $merge.Missing | Should -HaveCount 90
        "$warned" | Should -Match 'give -Root the folder the workers used as -ShardRoot'
    }
}
