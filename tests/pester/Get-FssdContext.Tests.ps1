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
        $text | Should -Match 'BlockCache\s+:\s+(on|off)'
    }

    It 'keeps libtorch''s large buffers for reuse on Linux, and says when it does not' {
        $ctx = Get-FssdContext
        if ($IsLinux) { $ctx.BlockCache | Should -BeLike 'on (*libc10.so)' }
        else { $ctx.BlockCache | Should -BeLike 'off: *' }
    }

    It 'runs without the block cache when FSSD_BLOCK_CACHE=0, and says why' {
        $script = "`$env:FSSD_BLOCK_CACHE = '0'; Import-Module '$((Resolve-Path $ModulePath).Path)'; (Get-FssdContext).BlockCache"
        $out = Invoke-FreshPwsh $script
        $out | Select-Object -Last 1 | Should -Be 'off: FSSD_BLOCK_CACHE=0'
    }
}
