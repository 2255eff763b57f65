BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Set-FssdContext' {
    It 'refuses CUDA on this CPU build with an error that says so' {
        $err = $null
        try { Set-FssdContext -Device cuda } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'FssdDeviceUnavailable*'
        $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err.Exception.Message | Should -Match 'CPU build'
        (Get-FssdContext).Device | Should -Be 'cpu'
    }

    It 'refuses a name that is not a device' {
        { Set-FssdContext -Device gpu7 } | Should -Throw -ErrorId 'FssdInvalidDevice*'
    }

    It 'sets the thread count and returns the context with -PassThru' {
        $before = (Get-FssdContext).Threads
        try {
            (Set-FssdContext -Threads 1 -PassThru).Threads | Should -Be 1
            (Get-FssdContext).Threads | Should -Be 1
        } finally {
            Set-FssdContext -Threads $before
        }
    }

    It 'writes nothing without -PassThru' {
        Set-FssdContext -Device cpu | Should -BeNullOrEmpty
    }

    It 'scores in bfloat16 where the processor has it, and says so where it does not' {
        $sets = (Get-FssdContext).InstructionSets
        $native = $sets -contains 'AVX512-BF16' -or $sets -contains 'AMX-BF16'
        try {
            $context = Set-FssdContext -Precision BFloat16 -PassThru -WarningVariable warned 3>$null
            $context.RequestedPrecision | Should -Be 'BFloat16'
            if ($native) {
                $context.Precision | Should -Be 'BFloat16'
                $warned | Should -BeNullOrEmpty
            } else {
                $context.Precision | Should -Be 'Float32'
                $context.PrecisionNote | Should -Match 'AVX512-BF16'
                "$warned" | Should -Match 'AVX512-BF16'
            }
            ((Get-FssdContext | Out-String -Width 200) -split "`n" | Where-Object { $_ -match 'Precision\S*\s*:' }) | Should -Match 'Float32|BFloat16'
        } finally {
            Set-FssdContext -Precision Float32
        }
        (Get-FssdContext).Precision | Should -Be 'Float32'
    }

    It 'scores the example images in bfloat16 with the same verdicts and scores within bfloat16 rounding' {
        $files = Get-ChildItem (Join-Path $RepoRoot 'examples/samples') -Filter *.png
        $exact = @($files | Measure-Fssd -Precision Float32)
        $reduced = @($files | Measure-Fssd -Precision BFloat16 -Verbose 4>&1 3>$null)
        $verbose = @($reduced | Where-Object { $_ -is [Management.Automation.VerboseRecord] })
        $reduced = @($reduced | Where-Object { $_ -is [Fssd.FssdScore] })
        $reduced.Count | Should -Be $exact.Count
        $sets = (Get-FssdContext).InstructionSets
        $native = $sets -contains 'AVX512-BF16' -or $sets -contains 'AMX-BF16'
        ($verbose -join "`n") | Should -Match $(if ($native) { 'in BFloat16' } else { 'in Float32' })
        for ($i = 0; $i -lt $exact.Count; $i++) {
            $reduced[$i].FullName | Should -Be $exact[$i].FullName
            $reduced[$i].IsOutOfDistribution | Should -Be $exact[$i].IsOutOfDistribution
            [math]::Abs($reduced[$i].Score - $exact[$i].Score) | Should -BeLessThan (0.05 * [math]::Max(1, [math]::Abs($exact[$i].Score)))
        }
        if ($native) {
            # It did compute in bfloat16: some score moved.
            $moved = @(for ($i = 0; $i -lt $exact.Count; $i++) { [math]::Abs($reduced[$i].Score - $exact[$i].Score) })
            @($moved | Where-Object { $_ -gt 1e-6 }).Count | Should -BeGreaterThan 0
        }
    }
}
