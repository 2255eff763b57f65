BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-shard-$([guid]::NewGuid().ToString('N'))"
    $photos = Join-Path $work 'photos'
    # Sharding reads names only: empty files stand in for photos.
    $names = foreach ($i in 0..299) { '{0}/{1}/photo {2:D4}.{3}' -f ('2019', '2020', 'caf' + [char]0xe9)[$i % 3], ('a', 'b [1]', 'c,d')[$i % 5 % 3], $i, ('png', 'jpg')[$i % 2] }
    foreach ($n in $names) {
        $file = Join-Path $photos $n
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $file)
        $null = New-Item -ItemType File -Path $file
    }
    $allKeys = @($names | Sort-Object -CaseSensitive)
    $rng = [Random]::new(7)
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-FssdShard' {
    It 'puts every file of a folder in exactly one of five shards, in any listing order' {
        $byFolder = @{}
        foreach ($k in 0..4) {
            foreach ($f in Get-FssdShard -LiteralPath $photos -Shard $k -ShardCount 5 -Root $photos) {
                $f.Shard | Should -Be $k
                $byFolder.ContainsKey($f.ShardKey) | Should -BeFalse -Because "$($f.ShardKey) is in one shard only"
                $byFolder[$f.ShardKey] = $k
            }
        }
        @($byFolder.Keys | Sort-Object -CaseSensitive) | Should -Be $allKeys

        # The same files in two random orders, from the pipeline and from a listing file.
        $shuffled = Get-ChildItem -LiteralPath $photos -Recurse -File | Sort-Object { $rng.Next() }
        $listing = Join-Path $work 'listing.txt'
        $shuffled | Sort-Object { $rng.Next() } | ForEach-Object { [IO.Path]::GetRelativePath($photos, $_.FullName) } | Set-Content -LiteralPath $listing
        foreach ($k in 0..4) {
            foreach ($f in $shuffled | Get-FssdShard -Shard $k -ShardCount 5 -Root $photos) { $byFolder[$f.ShardKey] | Should -Be $k }
            foreach ($f in Get-FssdShard -ListPath $listing -Shard $k -ShardCount 5 -Root $photos) { $byFolder[$f.ShardKey] | Should -Be $k }
        }
    }

    It 'reads a listing written on Windows (backslashes, CR LF) as the folder' {
        $listing = Join-Path $work 'windows.txt'
        [IO.File]::WriteAllText($listing, (($names | ForEach-Object { $_.Replace('/', '\') }) -join "`r`n") + "`r`n")
        $fromListing = Get-FssdShard -ListPath $listing -Shard 2 -ShardCount 3 -Root $photos
        $fromFolder = Get-FssdShard -LiteralPath $photos -Shard 2 -ShardCount 3 -Root $photos
        @($fromListing.FullName | Sort-Object) | Should -Be @($fromFolder.FullName | Sort-Object)
        $fromListing[0].FullName | Should -Exist
    }

    It 'gives each file its shard without -Shard, and the sizes are even' {
        $groups = Get-FssdShard -LiteralPath $photos -ShardCount 3 -Root $photos | Group-Object Shard
        @($groups.Name | Sort-Object) | Should -Be @('0', '1', '2')
        ($groups | Measure-Object Count -Sum).Sum | Should -Be 300
        $groups | ForEach-Object { $_.Count | Should -BeGreaterThan 70 }
    }

    It 'keeps only names that match -Include' {
        $png = Get-FssdShard -LiteralPath $photos -ShardCount 1 -Shard 0 -Root $photos -Include '*.PNG'
        $png | Should -HaveCount 150
        $png | ForEach-Object { $_.Name | Should -BeLike '*.png' }
    }

    It 'keys files by their path under the current location by default, and warns about a file outside the root' {
        Push-Location $work
        try {
            (Get-FssdShard -LiteralPath $photos -ShardCount 2 | Select-Object -First 1).ShardKey | Should -BeLike 'photos/*'
        } finally { Pop-Location }
        $outside = Get-FssdShard -LiteralPath (Join-Path $photos $names[0]) -ShardCount 2 -Root (Join-Path $work 'elsewhere') -WarningVariable warned 3>$null
        $outside.ShardKey | Should -Be ((Join-Path $photos $names[0]).Replace('\', '/'))
        $warned | Should -HaveCount 1
        "$warned" | Should -Match 'not under the shard root'
    }

    It 'refuses a shard that does not exist, naming the valid ones' {
        { Get-FssdShard -LiteralPath $photos -Shard 3 -ShardCount 3 -ErrorAction Stop } | Should -Throw -ErrorId 'FssdShardInvalid,*' -ExpectedMessage '*0 to 2*'
    }

    It 'reports a listing file that does not exist' {
        Get-FssdShard -ListPath (Join-Path $work 'none.txt') -ShardCount 2 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FssdListingUnreadable,*'
        $err[0].Exception.Message | Should -Match 'none\.txt'
    }
}
