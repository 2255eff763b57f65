BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'ScaleHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-resume-$([guid]::NewGuid().ToString('N'))"
    $photos = Join-Path $work 'photos'
    Get-FssdSample FashionMNIST/test -First 200 | Export-FssdDataset -Path $photos | Out-Null
    $files = @(Get-ChildItem -LiteralPath $photos -Recurse -File | Sort-Object FullName)
    $detector = Import-FssdDetector
    function Read-Rows([string] $Path) { @(Import-Csv -LiteralPath $Path) }
    function KeyOf($file) { [IO.Path]::GetRelativePath($photos, $file.FullName).Replace('\', '/') }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Measure-Fssd -ResultPath' {
    It 'scores on a re-run only the files its results file lacks, and a third run nothing' {
        $csv = Join-Path $work 'resume.csv'
        $first = $files[0..79] | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv
        $first | Should -BeNullOrEmpty -Because 'with -ResultPath objects come only with -PassThru'
        (Read-Rows $csv) | Should -HaveCount 80
        $shuffled = $files | Sort-Object { [guid]::NewGuid() }
        $second = $shuffled | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -PassThru
        @($second.FullName | Sort-Object) | Should -Be @($files[80..199].FullName | Sort-Object)
        $third = $shuffled | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -PassThru
        $third | Should -BeNullOrEmpty
        $rows = Read-Rows $csv
        $rows | Should -HaveCount 200
        @($rows.Path | Sort-Object -Unique) | Should -HaveCount 200
        @($rows.Path | Sort-Object) | Should -Be @($files | ForEach-Object { KeyOf $_ } | Sort-Object)
        @(Get-Content -LiteralPath $csv | Where-Object { $_ -like '"Path",*' }) | Should -HaveCount 1
    }

    It 'writes exactly the numbers of the objects it returns, culture-invariant, with one column per tap' {
        $csv = Join-Path $work 'numbers.csv'
        $before = [Globalization.CultureInfo]::CurrentCulture
        try {
            [Globalization.CultureInfo]::CurrentCulture = 'de-DE'
            $scores = $files[0..19] | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -PassThru
        } finally { [Globalization.CultureInfo]::CurrentCulture = $before }
        $rows = Read-Rows $csv
        $rows[0].PSObject.Properties.Name | Should -Be @('Path', 'Score', 'IsOutOfDistribution', 'PredictedClass', 'Confidence', 'Fssd_conv1', 'Fssd_conv2', 'Fssd_fc1', 'Fssd_logits',
            'Fssd_knn_fc1', 'Fssd_knn_conv2_std', 'Error')
        for ($i = 0; $i -lt 20; $i++) {
            $rows[$i].Path | Should -Be (KeyOf (Get-Item -LiteralPath $scores[$i].FullName))
            [double]::Parse($rows[$i].Score, [cultureinfo]::InvariantCulture) | Should -Be $scores[$i].Score
            [double]::Parse($rows[$i].Fssd_conv2, [cultureinfo]::InvariantCulture) | Should -Be $scores[$i].LayerScores['conv2']
            $rows[$i].IsOutOfDistribution | Should -Be "$($scores[$i].IsOutOfDistribution)"
            $rows[$i].PredictedClass | Should -Be $scores[$i].PredictedClass
            $rows[$i].Error | Should -BeNullOrEmpty
        }
    }

    It 'removes a row cut off by a kill, says so, and scores its file again' {
        $csv = Join-Path $work 'torn.csv'
        $files[0..29] | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv
        $bytes = [IO.File]::ReadAllBytes($csv)
        $lastRow = [Text.Encoding]::UTF8.GetString($bytes).TrimEnd("`n").LastIndexOf("`n") + 1
        $cutKey = (Read-Rows $csv)[-1].Path
        [IO.File]::WriteAllBytes($csv, $bytes[0..($lastRow + 25)])
        $again = $files[0..29] | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -PassThru -WarningVariable warned 3>$null
        "$warned" | Should -Match 'removed an incomplete last row'
        $again | Should -HaveCount 1
        KeyOf (Get-Item -LiteralPath $again[0].FullName) | Should -Be $cutKey
        $rows = Read-Rows $csv
        $rows | Should -HaveCount 30
        @($rows.Path | Sort-Object -Unique) | Should -HaveCount 30
    }

    It 'records an unreadable file once, with its error, and tries it again only with -RetryError' {
        $csv = Join-Path $work 'errors.csv'
        $broken = Join-Path $photos 'broken.png'
        Set-Content -LiteralPath $broken -Value 'not an image'
        try {
            $files[0..4] + (Get-Item -LiteralPath $broken) | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -ErrorVariable e1 -ErrorAction SilentlyContinue
            $e1 | Should -HaveCount 1
            $files[0..4] + (Get-Item -LiteralPath $broken) | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -ErrorVariable e2 -ErrorAction SilentlyContinue
            $e2 | Should -BeNullOrEmpty
            $files[0..4] + (Get-Item -LiteralPath $broken) | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv -RetryError -ErrorVariable e3 -ErrorAction SilentlyContinue
            $e3 | Should -HaveCount 1
            $bad = @(Read-Rows $csv | Where-Object Path -eq 'broken.png')
            $bad | Should -HaveCount 2
            $bad[0].Error | Should -Match 'broken\.png'
            $bad[0].Score | Should -BeNullOrEmpty
            (Read-Rows $csv) | Should -HaveCount 7
        } finally { Remove-Item -LiteralPath $broken }
    }

    It 'refuses a results file written with other taps, before scoring anything' {
        $csv = Join-Path $work 'taps.csv'
        $files[0..1] | Measure-Fssd -Detector $detector -ShardRoot $photos -ResultPath $csv
        $model = Import-FssdModel
        { $files[2..3] | Measure-Fssd -Model $model -Layer fc1 -ShardRoot $photos -ResultPath $csv -ErrorAction Stop } |
            Should -Throw -ErrorId 'FssdResultsUnusable,*' -ExpectedMessage '*Fssd_conv1*'
        (Read-Rows $csv) | Should -HaveCount 2
    }

    It 'scores with -Shard exactly the files Get-FssdShard lists for that shard' {
        foreach ($k in 0..2) {
            $scored = $files | Measure-Fssd -Detector $detector -Shard $k -ShardCount 3 -ShardRoot $photos
            $listed = Get-FssdShard -LiteralPath $photos -Shard $k -ShardCount 3 -Root $photos
            @($scored.FullName | Sort-Object) | Should -Be @($listed.FullName | Sort-Object)
        }
        { $files[0] | Measure-Fssd -Shard 1 -ErrorAction Stop } | Should -Throw -ErrorId 'FssdShardInvalid,*' -ExpectedMessage '*go together*'
    }

    It 'continues where a killed worker stopped, with no file twice' {
        $csv = Join-Path $work 'killed.csv'
        $worker = Start-PwshProcess -LogPath (Join-Path $work 'killed.log') -Script @"
Import-Module '$ModulePath'
Set-FssdContext -Threads 1 | Out-Null
Get-ChildItem -LiteralPath '$photos' -Recurse -File | Measure-Fssd -ShardRoot '$photos' -ResultPath '$csv' -BatchSize 8
"@
        try {
            Wait-Until { (Get-ResultRowCount $csv) -ge 8 -or $worker.HasExited } -TimeoutSeconds 120 -Because 'the worker wrote its first batch'
            $worker.HasExited | Should -BeFalse -Because 'the worker is killed mid-run'
            $worker.Kill()
            $worker.WaitForExit()
        } finally { Stop-ProcessAndDescendant $worker.Id }
        $atKill = Get-ResultRowCount $csv
        $atKill | Should -BeLessThan 200 -Because 'the kill came before the end'
        $again = $files | Measure-Fssd -ShardRoot $photos -ResultPath $csv -PassThru
        $again.Count | Should -Be (200 - $atKill)
        $rows = Read-Rows $csv
        $rows | Should -HaveCount 200
        @($rows.Path | Sort-Object -Unique) | Should -HaveCount 200
    }
}
