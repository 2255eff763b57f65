BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-hostile-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work
    $generator = Join-Path $RepoRoot 'tests/hostile/HostileCorpus.cs'
    $fixtures = @('cmyk.jpg', 'frame.gif', 'lossless.webp', 'rgba.png', 'bitmap.bmp') | ForEach-Object { Join-Path $RepoRoot "tests/fixtures/images/$_" }

    # Runs one cmdlet over a fresh corpus (crafted files, 300 seeded mutations, good files, a pipe) in a
    # child process, and returns what came out: results per file, errors per file, peak memory.
    function Invoke-HostileRun([string] $Command, [int] $Seed) {
        $folder = Join-Path $work "corpus-$Command-$Seed"
        $resultFile = Join-Path $work "result-$Command-$Seed.json"
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
Add-Type -Path '$generator'
`$corpus = [Fssd.Tests.Hostile.HostileCorpus]::Write('$folder', $Seed, 300, [string[]]@('$($fixtures -join "','")'))
`$entries = @(`$corpus | ForEach-Object { @{ Path = `$_.Path; Expect = `$_.Expect.ToString(); Kind = `$_.Kind } })
if (`$IsLinux) {
    `$pipe = Join-Path '$folder' 'named-pipe.png'
    & mkfifo `$pipe
    `$entries += @{ Path = `$pipe; Expect = 'Bad'; Kind = 'named pipe' }
}
`$paths = [string[]](`$entries | ForEach-Object Path)
`$errors = `$null
`$out = switch ('$Command') {
    'Measure-Fssd' { Measure-Fssd -LiteralPath `$paths -ErrorVariable errors -ErrorAction SilentlyContinue | ForEach-Object FullName }
    'Get-FssdPrediction' { Get-Item -LiteralPath `$paths -Force | Get-FssdPrediction -ErrorVariable errors -ErrorAction SilentlyContinue | ForEach-Object FullName }
    'Get-FssdSample' { Get-FssdDataset -Path '$folder' | Get-FssdSample -ErrorVariable errors -ErrorAction SilentlyContinue | ForEach-Object Source }
    'New-FssdDetector' {
        `$d = New-FssdDetector -InDistribution (Get-Item -LiteralPath `$paths -Force) -ErrorVariable errors -ErrorAction SilentlyContinue
        # The detector says how many inputs it was calibrated on; every good file must be among them.
        `$d.ValidationCount
    }
}
`$peak = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
@{ Entries = `$entries; Output = @(`$out); Errors = @(`$errors | ForEach-Object { @{ Target = [string]`$_.TargetObject; Message = `$_.Exception.Message; Id = `$_.FullyQualifiedErrorId } }); PeakKiB = [long]`$peak } |
    ConvertTo-Json -Depth 4 | Set-Content -LiteralPath '$resultFile'
"@
        $null = Invoke-FreshPwsh -Script $script
        Get-Content -LiteralPath $resultFile -Raw | ConvertFrom-Json
    }
}

AfterAll {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Hostile image files in a pipeline' -Tag 'Hostile', 'Slow' {
    It 'Measure-Fssd scores every good file once and gives every other file exactly one result, in bounded memory' {
        $run = Invoke-HostileRun 'Measure-Fssd' 20261202
        $scored = @($run.Output)
        $errorTargets = @($run.Errors.Target)
        Write-Host ("    {0} files: {1} scored, {2} errors, peak memory {3:N0} MiB" -f $run.Entries.Count, $scored.Count, $errorTargets.Count, ($run.PeakKiB / 1024))
        # No file scored twice, none errored twice, none both.
        ($scored | Sort-Object -Unique).Count | Should -Be $scored.Count
        ($errorTargets | Sort-Object -Unique).Count | Should -Be $errorTargets.Count
        @($scored | Where-Object { $_ -in $errorTargets }) | Should -BeNullOrEmpty
        foreach ($entry in $run.Entries) {
            $isScored = $entry.Path -in $scored
            $isError = $entry.Path -in $errorTargets
            ($isScored -or $isError) | Should -BeTrue -Because "$($entry.Kind) $($entry.Path) needs a result"
            if ($entry.Expect -eq 'Good') { $isScored | Should -BeTrue -Because "$($entry.Path) is a valid image" }
            if ($entry.Expect -eq 'Bad') { $isError | Should -BeTrue -Because "$($entry.Path) ($($entry.Kind)) must be refused" }
        }
        foreach ($e in $run.Errors) {
            $e.Message | Should -Match ([regex]::Escape((Split-Path -Leaf $e.Target)))
            $e.Id | Should -Match '^FssdImageUnreadable'
        }
        ($run.Errors | Where-Object { $_.Target -like '*wrap-65536x16385.png' }).Message | Should -Match '65536 x 16385'
        # The decode memory limit (512 MiB) over a normal run's ~0.5 GiB: 1.5 GiB is the budget.
        $run.PeakKiB | Should -BeLessThan (1.5GB / 1KB)
    }

    It 'Get-FssdPrediction gives every file one prediction or one error' {
        $run = Invoke-HostileRun 'Get-FssdPrediction' 7
        $out = @($run.Output); $targets = @($run.Errors.Target)
        Write-Host ("    {0} files: {1} predicted, {2} errors, peak memory {3:N0} MiB" -f $run.Entries.Count, $out.Count, $targets.Count, ($run.PeakKiB / 1024))
        ($out.Count + $targets.Count) | Should -Be $run.Entries.Count
        foreach ($entry in $run.Entries | Where-Object Expect -eq 'Good') { $entry.Path | Should -BeIn $out }
        foreach ($entry in $run.Entries | Where-Object Expect -eq 'Bad') { $entry.Path | Should -BeIn $targets }
        $run.PeakKiB | Should -BeLessThan (1.5GB / 1KB)
    }

    It 'Get-FssdSample reads a folder of them, one sample or one error per file' {
        $run = Invoke-HostileRun 'Get-FssdSample' 8
        $out = @($run.Output); $targets = @($run.Errors.Target)
        Write-Host ("    {0} files: {1} samples, {2} errors, peak memory {3:N0} MiB" -f $run.Entries.Count, $out.Count, $targets.Count, ($run.PeakKiB / 1024))
        # The folder listing leaves out what is not an image file by name (the pipe has a .png name and is kept).
        foreach ($entry in $run.Entries | Where-Object Expect -eq 'Good') { $entry.Path | Should -BeIn $out }
        foreach ($entry in $run.Entries | Where-Object Expect -eq 'Bad') { $entry.Path | Should -BeIn $targets }
        @($out | Where-Object { $_ -in $targets }) | Should -BeNullOrEmpty
        $run.PeakKiB | Should -BeLessThan (1.5GB / 1KB)
    }

    It 'New-FssdDetector calibrates on the good files and reports each bad one' {
        $run = Invoke-HostileRun 'New-FssdDetector' 9
        $targets = @($run.Errors.Target)
        $count = [int]@($run.Output)[0]
        Write-Host ("    {0} files: calibrated on {1}, {2} errors, peak memory {3:N0} MiB" -f $run.Entries.Count, $count, $targets.Count, ($run.PeakKiB / 1024))
        ($count + $targets.Count) | Should -Be $run.Entries.Count
        foreach ($entry in $run.Entries | Where-Object Expect -eq 'Bad') { $entry.Path | Should -BeIn $targets }
        $run.PeakKiB | Should -BeLessThan (1.5GB / 1KB)
    }
}
