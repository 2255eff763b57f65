# Shared by the Pester tests: where the built module is, and how to run a fresh pwsh.
$script:ModulePath = if ($env:FSSD_TEST_MODULE) { $env:FSSD_TEST_MODULE } else { Join-Path $PSScriptRoot '../../out/Fssd' }
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Invoke-FreshPwsh {
    <# Runs a script block's text in a new pwsh process and returns its output lines; throws on a non-zero exit. #>
    param([Parameter(Mandatory)] [string] $Script)
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    $output = & $exe @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Fresh pwsh exited with $LASTEXITCODE`: $($output -join [Environment]::NewLine)" }
    $output
}

# File names that PowerShell's wildcard paths misread: brackets, * and ? (not on Windows), spaces, other scripts.
function Awkward-Names {
    $names = @('digit [2].png', 'x[a-z].png', 'with space.png', 'ünïcødé ✓ 字.png', "it's.png", 'a`b.png')
    if (-not $IsWindows) { $names += @('star*.png', 'what?.png') }
    $names
}
