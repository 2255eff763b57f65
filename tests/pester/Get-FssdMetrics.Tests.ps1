BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
    $fixture = Get-Content (Join-Path $RepoRoot 'tests/fixtures/metrics/metrics.json') -Raw | ConvertFrom-Json
}

Describe 'Get-FssdMetrics' {
    It 'agrees with scikit-learn on the "<name>" fixture to 1e-9' -ForEach @(
        @{ name = 'rounded ties' }, @{ name = 'integer ties' }, @{ name = 'small' }
    ) {
        $case = $fixture.cases | Where-Object name -eq $name
        $m = Get-FssdMetrics -InDistribution $case.in -OutOfDistribution $case.out
        $m | Should -BeOfType ([Fssd.FssdMetrics])
        foreach ($p in @(@('AUROC', 'auroc'), @('AUPRCIn', 'auprcIn'), @('AUPRCOut', 'auprcOut'), @('FPR80', 'fpr80'), @('FPR95', 'fpr95'), @('DetectionError', 'detectionError'))) {
            [Math]::Abs($m.($p[0]) - $case.expected.($p[1])) | Should -BeLessThan 1e-9 -Because $p[0]
        }
    }

    It 'takes objects with a Score property, and names the method' {
        $in = 0.9, 0.8, 0.7 | ForEach-Object { [pscustomobject]@{ Score = $_ } }
        $m = Get-FssdMetrics -InDistribution $in -OutOfDistribution 0.1, 0.75 -Method toy
        $m.Method | Should -Be 'toy'
        [Math]::Abs($m.AUROC - 5 / 6) | Should -BeLessThan 1e-12
        $m.InCount | Should -Be 3
    }

    It 'refuses values that are not scores' {
        { Get-FssdMetrics -InDistribution 'abc' -OutOfDistribution 1 -ErrorAction Stop } | Should -Throw '*neither a number*'
    }
}
