BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'build.ps1' -Tag 'Build' {
    It 'builds a Windows module folder with the Windows natives and nothing else' -Skip:(-not $IsLinux) {
        $out = Invoke-FreshPwsh "& '$RepoRoot/build.ps1' Build -Runtime win-x64"
        $win = Join-Path $RepoRoot 'out/win-x64/Fssd'
        foreach ($f in 'Fssd.psd1', 'Fssd.psm1', 'Fssd.Format.ps1xml', 'bin/Fssd.Loader.dll', 'bin/Fssd.Contracts.dll',
            'lib/Fssd.PowerShell.dll', 'lib/Fssd.Engine.dll', 'lib/TorchSharp.dll', 'lib/YamlDotNet.dll') {
            Join-Path $win $f | Should -Exist
        }
        $native = Join-Path $win 'runtimes/win-x64/native'
        foreach ($f in 'torch_cpu.dll', 'torch.dll', 'c10.dll', 'LibTorchSharp.dll', 'libiomp5md.dll', 'libSkiaSharp.dll') {
            Join-Path $native $f | Should -Exist
        }
        (Get-ChildItem (Join-Path $win 'runtimes') -Directory).Name | Should -Be 'win-x64'
        Get-ChildItem $win -Recurse -File -Filter '*.so*' | Should -BeNullOrEmpty
        Get-ChildItem (Join-Path $win 'lib') | Where-Object Name -in 'torch_cpu.dll', 'torch.dll', 'c10.dll', 'LibTorchSharp.dll' |
            Should -BeNullOrEmpty
        Join-Path $win 'en-US/Fssd.PowerShell.dll-Help.xml' | Should -Exist
    }
}
