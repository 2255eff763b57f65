# Shared by the tests of runs past one machine: processes the tests start and stop by their id, bounded
# waits, results-file row counts, and Debian packages installed on demand.

function Get-PwshCommandLine {
    <# The executable and leading arguments that start this PowerShell (under 'dotnet pwsh': dotnet and pwsh.dll). #>
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    @($exe)
}

function New-PwshLauncher {
    <# A shell script that starts this PowerShell with its arguments: for sshd's Subsystem line and Slurm's batch script. #>
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Arguments = @())
    $line = ((Get-PwshCommandLine) + $Arguments | ForEach-Object { "'" + $_.Replace("'", "'\''") + "'" }) -join ' '
    Set-Content -LiteralPath $Path -Value "#!/bin/sh`nexec $line `"`$@`"" -NoNewline
    chmod 755 $Path
    $Path
}

function Start-PwshProcess {
    <# Runs a script in a new PowerShell process in the background; returns the Process. Output goes to $LogPath(.err). #>
    param([Parameter(Mandatory)] [string] $Script, [Parameter(Mandatory)] [string] $LogPath)
    $cmd = Get-PwshCommandLine
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    Start-Process -FilePath $cmd[0] -ArgumentList (@($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)) `
        -RedirectStandardOutput $LogPath -RedirectStandardError "$LogPath.err" -PassThru
}

function Wait-Until {
    <# Polls a condition every $IntervalMs until it holds; throws $Because after $TimeoutSeconds. #>
    param([Parameter(Mandatory)] [scriptblock] $Condition, [int] $TimeoutSeconds = 60, [int] $IntervalMs = 50, [Parameter(Mandatory)] [string] $Because)
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while (-not (& $Condition)) {
        if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { throw "Gave up after $TimeoutSeconds s waiting until $Because." }
        Start-Sleep -Milliseconds $IntervalMs
    }
}

function Get-ResultRowCount {
    <# Complete data rows of a results file being written (lines ended by a line feed, less the header); 0 when absent. #>
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path)) { return 0 }
    $stream = [IO.FileStream]::new($Path, 'Open', 'Read', 'ReadWrite, Delete')
    try {
        $bytes = [byte[]]::new($stream.Length)
        $read = 0
        while ($read -lt $bytes.Length) { $n = $stream.Read($bytes, $read, $bytes.Length - $read); if ($n -le 0) { break }; $read += $n }
        $lineEnds = [Text.Encoding]::UTF8.GetString($bytes, 0, $read).Split([char]10).Count - 1
        [Math]::Max(0, $lineEnds - 1)
    } finally { $stream.Dispose() }
}

function Get-DescendantProcessId {
    <# The ids of every process below $Id (Linux /proc), children first. #>
    param([Parameter(Mandatory)] [int] $Id)
    $children = foreach ($stat in Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$') {
        $text = Get-Content -LiteralPath (Join-Path $stat.FullName 'stat') -Raw -ErrorAction SilentlyContinue
        # The parent id is the second field after the command name in parentheses.
        if ($text -and $text.Substring($text.LastIndexOf(')') + 2).Split(' ')[1] -eq "$Id") { [int]$stat.Name }
    }
    foreach ($child in $children) { Get-DescendantProcessId -Id $child; $child }
}

function Stop-ProcessAndDescendant {
    <# Kills processes this test started, and everything they started, by id. #>
    param([int[]] $Id)
    foreach ($p in $Id) {
        if (-not $p) { continue }
        $ids = @(Get-DescendantProcessId -Id $p) + $p
        foreach ($i in $ids) { Stop-Process -Id $i -Force -ErrorAction SilentlyContinue }
    }
}

function Install-DebianPackage {
    <#
    Makes sure the commands exist, installing the Debian packages with apt-get when they do not (as root
    only). Returns $null when they are there, or why not: the test skips with that reason. A
    policy-rc.d that forbids starting services is put in place for the install when there is none, so
    installing openssh-server or slurm-wlm starts no system daemon.
    #>
    param([Parameter(Mandatory)] [string[]] $Package, [Parameter(Mandatory)] [string[]] $Command)
    $missing = { @($Command | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) -and -not (Test-Path -LiteralPath $_) }) }
    if ((& $missing).Count -eq 0) { return $null }
    if (-not $IsLinux -or -not (Get-Command apt-get -ErrorAction Ignore)) { return "$($Package -join ', ') cannot be installed here (no apt-get): $((& $missing) -join ', ') missing" }
    if ((id -u) -ne '0') { return "$($Package -join ', ') missing ($((& $missing) -join ', ')), and installing them needs root" }
    $policy = '/usr/sbin/policy-rc.d'
    $ownPolicy = -not (Test-Path -LiteralPath $policy)
    try {
        if ($ownPolicy) { Set-Content -LiteralPath $policy -Value "#!/bin/sh`nexit 101"; chmod 755 $policy }
        $env:DEBIAN_FRONTEND = 'noninteractive'
        $log = @(& apt-get install -y -qq --no-install-recommends @Package 2>&1)
        if ($LASTEXITCODE -ne 0) {
            # The package lists may be old or absent (a fresh container): update them once and try again.
            $log += @(& apt-get update -qq 2>&1)
            $log += @(& apt-get install -y -qq --no-install-recommends @Package 2>&1)
        }
        if ($LASTEXITCODE -ne 0) { return "apt-get could not install $($Package -join ', '): $(($log | Select-Object -Last 3) -join ' ')" }
    } finally {
        if ($ownPolicy) { Remove-Item -LiteralPath $policy -ErrorAction SilentlyContinue }
    }
    if ((& $missing).Count -gt 0) { return "after installing $($Package -join ', '), $((& $missing) -join ', ') still missing" }
    $null
}

function Get-FreeTcpPort {
    <# A port nothing listens on at 127.0.0.1 now (the OS picks it). #>
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Test-TcpPort {
    param([int] $Port)
    $client = [Net.Sockets.TcpClient]::new()
    try { $client.ConnectAsync([Net.IPAddress]::Loopback, $Port).Wait(200) -and $client.Connected } catch { $false } finally { $client.Dispose() }
}
