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
}
