# examples/fssd-shards.sbatch as a Slurm array job on this machine: munged, slurmctld and slurmd with a
# configuration, state and ports of the test's own (in a temporary folder), started and stopped by it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'ScaleHelpers.ps1')
    $skip = if (-not $IsLinux) { 'the Slurm test starts Debian''s slurm-wlm: Linux only' }
            else { Install-DebianPackage -Package slurm-wlm, munge -Command slurmctld, slurmd, sbatch, squeue, scontrol, scancel, munged }
    if (-not $skip -and (id -u) -ne '0') { $skip = 'slurmd runs jobs as their user only when started as root; run the Slurm test as root' }
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-slurm-$([guid]::NewGuid().ToString('N'))"
    $daemons = @()
    $state = @{ Job = $null }
    $shardCount = 4
    if (-not $skip) {
        $null = New-Item -ItemType Directory -Path $work
        chmod 755 $work
        Import-Module $ModulePath -Force
        $photos = Join-Path $work 'photos'
        Get-FssdSample FashionMNIST/test -First 2400 | Export-FssdDataset -Path $photos | Out-Null
        $detectorFile = (Import-FssdDetector | Export-FssdDetector -Path (Join-Path $work 'fleet.fssd.yaml') -EmbedWeights).FullName
        $shardSizes = 0..($shardCount - 1) | ForEach-Object { @(Get-FssdShard -LiteralPath $photos -Shard $_ -ShardCount $shardCount -Root $photos).Count }
        $results = Join-Path $work 'results'
        $launcher = New-PwshLauncher -Path (Join-Path $work 'pwsh')

        # munge: a key and a socket of the test's own.
        $munge = Join-Path $work 'munge'
        $null = New-Item -ItemType Directory -Path $munge
        chmod 711 $munge
        $key = [byte[]]::new(1024)
        [Security.Cryptography.RandomNumberGenerator]::Fill($key)
        [IO.File]::WriteAllBytes("$munge/munge.key", $key)
        chmod 600 "$munge/munge.key"
        $socket = "$munge/munge.socket"
        $daemons += Start-Process -FilePath munged -ArgumentList '-F', '--force', "--socket=$socket", "--key-file=$munge/munge.key",
            "--pid-file=$munge/munged.pid", "--log-file=$munge/munged.log", "--seed-file=$munge/munged.seed" `
            -RedirectStandardError "$munge/out.err" -RedirectStandardOutput "$munge/out.txt" -PassThru
        Wait-Until { Test-Path -LiteralPath $socket } -TimeoutSeconds 20 -Because 'munged made its socket'

        # One node: this machine under its own name, at 127.0.0.1.
        $node = (hostname -s).Trim()
        $cpus = [Environment]::ProcessorCount
        $conf = Join-Path $work 'slurm.conf'
        $null = New-Item -ItemType Directory -Path "$work/state", "$work/spool"
        Set-Content -LiteralPath $conf -Value @(
            'ClusterName=fssdtest', "SlurmctldHost=$node(127.0.0.1)", "SlurmctldPort=$(Get-FreeTcpPort)", "SlurmdPort=$(Get-FreeTcpPort)",
            'SlurmUser=root', 'SlurmdUser=root', 'AuthType=auth/munge', 'CredType=cred/munge', "AuthInfo=socket=$socket",
            "StateSaveLocation=$work/state", "SlurmdSpoolDir=$work/spool", "SlurmctldPidFile=$work/slurmctld.pid", "SlurmdPidFile=$work/slurmd.pid",
            "SlurmctldLogFile=$work/slurmctld.log", "SlurmdLogFile=$work/slurmd.log", 'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none',
            'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none', 'JobCompType=jobcomp/none',
            'SchedulerType=sched/backfill', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core', 'MpiDefault=none',
            'ReturnToService=2', 'JobRequeue=1', 'MinJobAge=600',
            # slurmd and the job steps listen on 127.0.0.1 only; slurmctld (22.05) binds every address, munge-authenticated.
            'CommunicationParameters=NoInAddrAny',
            "NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN",
            "PartitionName=fssdtest Nodes=$node Default=YES MaxTime=INFINITE State=UP")
        $env:SLURM_CONF = $conf
        $daemons += Start-Process -FilePath slurmctld -ArgumentList '-D', '-f', $conf -RedirectStandardError "$work/slurmctld.err" -RedirectStandardOutput "$work/slurmctld.out" -PassThru
        $daemons += Start-Process -FilePath slurmd -ArgumentList '-D', '-f', $conf -RedirectStandardError "$work/slurmd.err" -RedirectStandardOutput "$work/slurmd.out" -PassThru
        Wait-Until { "$(sinfo -h -N -o '%T' 2>$null)".Trim() -eq 'idle' -or @($daemons | Where-Object HasExited).Count -gt 0 } -TimeoutSeconds 60 -IntervalMs 500 `
            -Because 'the node is idle in sinfo'
        if (@($daemons | Where-Object HasExited).Count -gt 0) {
            throw "a Slurm daemon stopped: $(Get-Content "$work/*.err", "$munge/out.err" -Raw -ErrorAction SilentlyContinue)"
        }

        function Get-JobState([string] $Id) {
            $text = scontrol show job $Id 2>$null
            if ("$text" -match 'JobState=(\w+)') { $Matches[1] } else { '' }
        }
        function Get-Keys([string] $Csv) { @(Import-Csv -LiteralPath $Csv).Path }
    }
}

AfterAll {
    if ($state.Job) { scancel $state.Job 2>$null }
    Stop-ProcessAndDescendant @($daemons | Where-Object { $_ } | ForEach-Object Id)
    if ($env:SLURM_CONF -and $env:SLURM_CONF.StartsWith($work)) { Remove-Item Env:SLURM_CONF }
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Scoring one folder as a Slurm array job' -Tag 'Slow', 'Slurm' {
    It 'scores every shard in its own task, and a task cancelled mid-shard and requeued completes the set' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $env:FSSD_PWSH = $launcher
        $env:FSSD_MODULE = $ModulePath
        try {
            $submitted = sbatch --parsable "--array=0-$($shardCount - 1)" --cpus-per-task=1 "--output=$work/task-%a.log" `
                "$RepoRoot/examples/fssd-shards.sbatch" $photos $detectorFile $results 2>&1
        } finally { Remove-Item Env:FSSD_PWSH, Env:FSSD_MODULE }
        $LASTEXITCODE | Should -Be 0 -Because "sbatch says: $submitted"
        $job = "$submitted".Trim().Split(';')[0]
        $state.Job = $job

        # Cancel task 2 once it has written rows, then put it back in the queue.
        $victim = Join-Path $results "shard-2-of-$shardCount.csv"
        Wait-Until { (Get-ResultRowCount $victim) -gt 0 -or (Get-JobState "$($job)_2") -in 'COMPLETED', 'FAILED' } -TimeoutSeconds 300 `
            -Because 'task 2 wrote its first rows'
        scancel "$($job)_2"
        Wait-Until { (Get-JobState "$($job)_2") -in 'CANCELLED', 'COMPLETED', 'FAILED' } -TimeoutSeconds 60 -IntervalMs 200 -Because 'task 2 stopped'
        Get-JobState "$($job)_2" | Should -Be 'CANCELLED'
        $atCancel = Get-ResultRowCount $victim
        $atCancel | Should -BeLessThan $shardSizes[2] -Because 'the task was cancelled before the end of its shard'
        # Requeued while the node still ends the cancelled run, the task would fail to start: wait until it has.
        Wait-Until { -not "$(squeue -h -j "$($job)_2" 2>$null)".Trim() } -TimeoutSeconds 60 -IntervalMs 200 -Because 'the node let go of task 2'
        # slurmd revoked the cancelled run's credential, with a time in whole seconds: a new credential made
        # in that same second counts as revoked too ("Job N already killed, do not launch batch job", and
        # the task fails). Requeue from the next second on.
        Start-Sleep -Seconds 2
        scontrol requeue "$($job)_2"
        $LASTEXITCODE | Should -Be 0
        # A requeued job waits two minutes before it may start again; the test does not.
        scontrol update "JobId=$($job)_2" StartTime=now

        Wait-Until { -not "$(squeue -h -j $job 2>$null)".Trim() } -TimeoutSeconds 600 -IntervalMs 1000 -Because 'every task of the array ended'
        foreach ($k in 0..($shardCount - 1)) {
            Get-JobState "$($job)_$k" | Should -Be 'COMPLETED' -Because "task $k's log says: $(Get-Content "$work/task-$k.log" -Raw); slurmd's: $(Get-Content "$work/slurmd.log" -Tail 5)"
            $keys = Get-Keys (Join-Path $results "shard-$k-of-$shardCount.csv")
            $keys | Should -HaveCount $shardSizes[$k]
            @($keys | Sort-Object -Unique) | Should -HaveCount $shardSizes[$k]
        }
        Get-Content "$work/task-2.log" -Raw | Should -Match '\(restart 1\)'
        $merge = Join-FssdResult (Join-Path $results '*.csv') -Expected $photos -Root $photos
        $merge.Rows | Should -HaveCount 2400
        $merge.Missing | Should -BeNullOrEmpty
        $merge.Duplicates | Should -BeNullOrEmpty
        Write-Host ("    4 tasks scored 2,400 files in {0:F1} s; task 2 was cancelled at {1} of {2} rows and finished after its requeue" -f $clock.Elapsed.TotalSeconds, $atCancel, $shardSizes[2])
    }
}
