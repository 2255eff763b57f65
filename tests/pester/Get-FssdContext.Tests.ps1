BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModulePath -Force
}

Describe 'Get-FssdContext' {
    It 'shows the CPU device and libtorch 2.10' {
        $ctx = Get-FssdContext
        $ctx.Device | Should -Be 'cpu'
        $ctx.TorchVersion | Should -Match '^2\.10\.'
        $ctx.Backend | Should -Be 'cpu'
        $ctx.Threads | Should -BeGreaterThan 0
        $ctx.CudaAvailable | Should -BeFalse
        $ctx.GetType().FullName | Should -Be 'Fssd.FssdContextInfo'
    }

    It 'returns the same context on every call in a session' {
        (Get-FssdContext).NativeLibraryPath | Should -Be (Get-FssdContext).NativeLibraryPath
        (Get-FssdContext).NativeLibraryPath | Should -BeLike "$((Resolve-Path $ModulePath).Path)*"
    }

    It 'has a list view that names the device' {
        $text = Get-FssdContext | Format-List | Out-String
        $text | Should -Match 'Device\s+:\s+cpu'
        $text | Should -Match 'TorchVersion\s+:\s+2\.10'
    }
}
