<#
.SYNOPSIS
    Scores one folder on many machines over PowerShell remoting (SSH): each endpoint scores its own
    shard into its own results file, and a re-run continues where any worker stopped.

.DESCRIPTION
    Every endpoint needs PowerShell 7 as an SSH subsystem, the Fssd module, and the folder and the results
    folder at the paths given (a share); the detector goes from here to each endpoint as one file (export
    it with Export-FssdDetector -EmbedWeights so it carries its weights). Endpoint k of N scores shard k of
    N into <ResultFolder>/shard-k-of-N.csv. Invoke-Command sends every endpoint the same arguments, so each
    session is told its shard first; then one Invoke-Command fans the work out, -ThrottleLimit at a time.

    Nothing is coordinated beyond that: a worker that dies leaves a results file that the next run of this
    script (with the same endpoints, in the same order) continues, and files already scored are never
    scored again. At the end the shards are merged here when this machine sees the folders too.

.EXAMPLE
    Export-FssdDetector -Detector $detector -Path ./fleet.fssd.yaml -EmbedWeights
    ./Invoke-FssdFleet.ps1 -HostName ana@node1, ana@node2, ana@node3 -Folder /mnt/photos -DetectorPath ./fleet.fssd.yaml -ResultFolder /mnt/results

.EXAMPLE
    # Two endpoints on one machine (ports 2201, 2202), a key without a passphrase, the module at a path.
    ./Invoke-FssdFleet.ps1 -HostName root@127.0.0.1:2201, root@127.0.0.1:2202 -KeyFilePath ~/.ssh/fleet -Folder /data/photos `
        -DetectorPath ./fleet.fssd.yaml -ResultFolder /data/results -ModulePath /opt/Fssd
#>
[CmdletBinding()]
param(
    # The endpoints: host, user@host or user@host:port. Their order decides which shard each scores.
    [Parameter(Mandatory)] [string[]] $HostName,

    # The folder to score, as every endpoint sees it; also the root the files are keyed against.
    [Parameter(Mandatory)] [string] $Folder,

    # The detector file here; it is copied to every endpoint.
    [Parameter(Mandatory)] [string] $DetectorPath,

    # Where the endpoints write their results files, as every endpoint sees it.
    [Parameter(Mandatory)] [string] $ResultFolder,

    # File names to score.
    [string[]] $Include = @('*.png', '*.jpg', '*.jpeg', '*.bmp', '*.gif', '*.webp'),

    # The SSH key to log in with (otherwise ssh's own defaults and agent).
    [string] $KeyFilePath,

    # ssh options, e.g. @{ StrictHostKeyChecking = 'accept-new' }.
    [hashtable] $Options,

    # The module on the endpoints: a name in their PSModulePath, or a path.
    [string] $ModulePath = 'Fssd',

    # How many endpoints work at once.
    [int] $ThrottleLimit = 32,

    # Scoring threads per endpoint (Set-FssdContext -Threads); 0 keeps the endpoint's default.
    [int] $Threads = 0,

    # Leave out the merge at the end (when this machine does not see the folders).
    [switch] $NoMerge
)
$ErrorActionPreference = 'Stop'
$count = $HostName.Count
$connection = @{}
if ($KeyFilePath) { $connection.KeyFilePath = $KeyFilePath }
if ($Options) { $connection.Options = $Options }

# One session per endpoint, told its shard; an endpoint that cannot be reached leaves its shard for the next run.
$sessions = [Collections.Generic.List[System.Management.Automation.Runspaces.PSSession]]::new()
for ($k = 0; $k -lt $count; $k++) {
    try {
        $session = New-PSSession -HostName $HostName[$k] @connection
    } catch {
        Write-Warning "Shard $k of $count is left for the next run: $($HostName[$k]) cannot be reached ($($_.Exception.Message))."
        continue
    }
    $remoteDetector = Invoke-Command -Session $session -ScriptBlock {
        $global:FssdShard = $using:k
        $global:FssdShardCount = $using:count
        Join-Path ([IO.Path]::GetTempPath()) ('fssd-{0}.fssd.yaml' -f [guid]::NewGuid().ToString('N'))
    }
    Copy-Item -LiteralPath $DetectorPath -Destination $remoteDetector -ToSession $session
    Invoke-Command -Session $session -ScriptBlock { $global:FssdDetectorPath = $using:remoteDetector }
    $sessions.Add($session)
}

$work = {
    param($Folder, $ResultFolder, $Include, $ModulePath, $Threads)
    $ErrorActionPreference = 'Stop'
    Import-Module $ModulePath
    if ($Threads -gt 0) { Set-FssdContext -Threads $Threads | Out-Null }
    $detector = Import-FssdDetector $FssdDetectorPath
    $null = New-Item -ItemType Directory -Force -Path $ResultFolder
    $result = Join-Path $ResultFolder "shard-$FssdShard-of-$FssdShardCount.csv"
    $clock = [Diagnostics.Stopwatch]::StartNew()
    # Unreadable files are recorded in the results file (Error column); they do not stop the shard.
    Get-FssdShard -LiteralPath $Folder -Include $Include -Shard $FssdShard -ShardCount $FssdShardCount -Root $Folder |
        Measure-Fssd -Detector $detector -ShardRoot $Folder -ResultPath $result -ErrorVariable unreadable -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $FssdDetectorPath -ErrorAction SilentlyContinue
    [pscustomobject]@{
        Shard = "$FssdShard of $FssdShardCount"; Computer = [Environment]::MachineName; ResultPath = $result
        Unreadable = $unreadable.Count; Seconds = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
    }
}

try {
    if ($sessions.Count -gt 0) {
        # A worker that fails (or is killed) is an error here; the others go on.
        Invoke-Command -Session $sessions -ThrottleLimit $ThrottleLimit -ScriptBlock $work -ErrorAction Continue `
            -ArgumentList $Folder, $ResultFolder, $Include, $ModulePath, $Threads |
            Select-Object Shard, Computer, ResultPath, Unreadable, Seconds
    }
} finally {
    $sessions | Remove-PSSession -ErrorAction SilentlyContinue
}

if (-not $NoMerge) {
    Import-Module $ModulePath
    $files = 0..($count - 1) | ForEach-Object { Join-Path $ResultFolder "shard-$_-of-$count.csv" } | Where-Object { Test-Path -LiteralPath $_ }
    if ($files) { Join-FssdResult -LiteralPath $files -Expected $Folder -Include $Include -Root $Folder }
}
