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

Describe 'build.ps1 Pack' -Tag 'Build', 'Slow' {
    BeforeAll {
        $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-pack-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $work
    }
    AfterAll {
        Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'writes a package that installs from a folder repository with PSResourceGet and scores files where it landed' -Skip:(-not $IsLinux) {
        $packOutput = Invoke-FreshPwsh "& '$RepoRoot/build.ps1' Pack -Runtime linux-x64 -PackagePath '$work/repo'"
        $package = @(Get-ChildItem "$work/repo/linux-x64" -Filter 'Fssd.*.nupkg')
        $package | Should -HaveCount 1
        Write-Host "    $(@($packOutput | Where-Object { "$_" -like '*package:*' })[-1])"
        # A user of their own: an empty home, so the install and the repository registration land there and nowhere else.
        $home2 = Join-Path $work 'home'
        # .NET gives no application-data folder where it does not exist yet, and PSResourceGet then writes into
        # the current directory: a new user's home has these folders.
        foreach ($sub in '.local/share', '.config', '.cache') { $null = New-Item -ItemType Directory -Path (Join-Path $home2 $sub) }
        $samples = Join-Path $RepoRoot 'examples/samples'
        $script = @"
Register-PSResourceRepository -Name FssdTest -Uri '$work/repo/linux-x64' -Trusted
Install-PSResource Fssd -Repository FssdTest -Scope CurrentUser -TrustRepository -Quiet
`$installed = Get-InstalledPSResource Fssd -Scope CurrentUser
"installed=`$(`$installed.InstalledLocation)"
Import-Module Fssd -ErrorAction Stop
"loaded=`$((Get-Module Fssd).ModuleBase)"
`$scores = @(Get-ChildItem '$samples' -Filter *.png | Measure-Fssd)
"scored=`$(`$scores.Count) flagged=`$(@(`$scores | Where-Object IsOutOfDistribution).Count)"
"@
        # The child starts with that home, so PowerShell's user module path is the new user's.
        $saved = @{}
        foreach ($name in 'HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
        try {
            # No inherited module path either: the child builds its own, as a new user's shell does.
            $env:PSModulePath = $null
            $env:HOME = $home2; $env:XDG_DATA_HOME = "$home2/.local/share"; $env:XDG_CONFIG_HOME = "$home2/.config"; $env:XDG_CACHE_HOME = "$home2/.cache"
            $out = Invoke-FreshPwsh $script
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $lines = $out | ForEach-Object { "$_" }
        ($lines | Where-Object { $_ -like 'loaded=*' }) | Should -BeLike "loaded=$home2*"
        $scored = $lines | Where-Object { $_ -like 'scored=*' }
        Write-Host "    installed package: $scored"
        $scored | Should -BeLike ("scored={0} *" -f @(Get-ChildItem $samples -Filter *.png).Count)
    }
}
