# examples/Invoke-FssdFleet.ps1 against two SSH endpoints on the loopback address: two sshd, each with
# its own port, host key, authorized key and PowerShell subsystem, started and stopped by this test.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'ScaleHelpers.ps1')
    $skip = if (-not $IsLinux) { 'the remoting test starts Debian''s sshd: Linux only' }
            else { Install-DebianPackage -Package openssh-server, openssh-client -Command /usr/sbin/sshd, ssh, ssh-keygen }
    $work = Join-Path ([IO.Path]::GetTempPath()) "fssd-remoting-$([guid]::NewGuid().ToString('N'))"
    $sshd = @()
    if (-not $skip) {
        $null = New-Item -ItemType Directory -Path $work
        chmod 700 $work
        Import-Module $ModulePath -Force
        $photos = Join-Path $work 'photos'
        Get-FssdSample FashionMNIST/test -First 2000 | Export-FssdDataset -Path $photos | Out-Null
        $detectorFile = (Import-FssdDetector | Export-FssdDetector -Path (Join-Path $work 'fleet.fssd.yaml') -EmbedWeights).FullName
        $shardSizes = 0..1 | ForEach-Object { @(Get-FssdShard -LiteralPath $photos -Shard $_ -ShardCount 2 -Root $photos).Count }

        # Keys: one client key, authorized on both endpoints; a host key each.
        $clientKey = Join-Path $work 'client_key'
        ssh-keygen -q -t ed25519 -N '' -C fssd-test -f $clientKey
        Copy-Item -LiteralPath "$clientKey.pub" -Destination (Join-Path $work 'authorized_keys')
        $subsystem = New-PwshLauncher -Path (Join-Path $work 'pwsh-subsystem') -Arguments '-sshs', '-NoLogo', '-NoProfile'
        # sshd running as root needs its privilege-separation folder.
        if ((id -u) -eq '0' -and -not (Test-Path /run/sshd)) { $null = New-Item -ItemType Directory -Path /run/sshd }
        foreach ($i in 0..1) {
            $port = Get-FreeTcpPort
            $hostKey = Join-Path $work "host_key_$i"
            ssh-keygen -q -t ed25519 -N '' -f $hostKey
            $config = Join-Path $work "sshd_config_$i"
            Set-Content -LiteralPath $config -Value @(
                "Port $port", 'ListenAddress 127.0.0.1', "HostKey $hostKey", "PidFile $work/sshd_$i.pid",
                "AuthorizedKeysFile $work/authorized_keys", 'PubkeyAuthentication yes', 'PasswordAuthentication no',
                'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
                "Subsystem powershell $subsystem", 'LogLevel INFO')
            $process = Start-Process -FilePath /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', $config `
                -RedirectStandardError (Join-Path $work "sshd_$i.log") -RedirectStandardOutput (Join-Path $work "sshd_$i.out") -PassThru
            $sshd += [pscustomobject]@{ Process = $process; Port = $port }
        }
        Wait-Until { @($sshd | Where-Object { -not (Test-TcpPort $_.Port) }).Count -eq 0 -or @($sshd.Process | Where-Object HasExited).Count -gt 0 } `
            -TimeoutSeconds 20 -Because 'both sshd listen'
        if (@($sshd.Process | Where-Object HasExited).Count -gt 0) {
            throw "sshd did not start: $(Get-Content (Join-Path $work 'sshd_*.log') -Raw)"
        }
        $user = [Environment]::UserName
        $endpoints = $sshd | ForEach-Object { "$user@127.0.0.1:$($_.Port)" }
        $sshOptions = "@{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; BatchMode = 'yes'; LogLevel = 'ERROR' }"

        function Get-FleetScript([string] $Results) {
            "& '$RepoRoot/examples/Invoke-FssdFleet.ps1' -HostName '$($endpoints -join "','")' -KeyFilePath '$clientKey' -Options $sshOptions " +
            "-Folder '$photos' -DetectorPath '$detectorFile' -ResultFolder '$Results' -ModulePath '$ModulePath' -ThrottleLimit 2 -Threads 1 -NoMerge"
        }
        function Get-Keys([string] $Csv) { @(Import-Csv -LiteralPath $Csv).Path }
    }
}

AfterAll {
    Stop-ProcessAndDescendant @($sshd | ForEach-Object { $_.Process.Id })
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Scoring one folder on two SSH endpoints' -Tag 'Slow', 'Remoting' {
    It 'gives each endpoint its shard, each writes its own results file, and the merge has every file once' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $results = Join-Path $work 'results-a'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $out = Invoke-FreshPwsh ((Get-FleetScript $results) + ' | ForEach-Object { "$($_.Shard) on $($_.Computer): $($_.ResultPath)" }')
        Write-Host ("    two endpoints scored 2,000 files in {0:F1} s, sessions and module imports included" -f $clock.Elapsed.TotalSeconds)
        @($out | Sort-Object) | Should -Be @(0..1 | ForEach-Object { "$_ of 2 on $([Environment]::MachineName): $(Join-Path $results "shard-$_-of-2.csv")" })
        foreach ($k in 0..1) {
            $keys = Get-Keys (Join-Path $results "shard-$k-of-2.csv")
            $keys | Should -HaveCount $shardSizes[$k]
            @($keys | Sort-Object -Unique) | Should -HaveCount $shardSizes[$k]
        }
        $merge = Join-FssdResult (Join-Path $results '*.csv') -Expected $photos -Root $photos
        $merge.Rows | Should -HaveCount 2000
        $merge.Missing | Should -BeNullOrEmpty
        $merge.Duplicates | Should -BeNullOrEmpty
        $merge.ErrorCount | Should -Be 0
    }

    It 'completes the set with no file twice when a worker killed mid-shard is run again' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $results = Join-Path $work 'results-b'
        $victim = Join-Path $results 'shard-1-of-2.csv'
        $fleet = Start-PwshProcess -Script (Get-FleetScript $results) -LogPath (Join-Path $work 'fleet-b.log')
        try {
            Wait-Until { (Get-ResultRowCount $victim) -gt 0 -or $fleet.HasExited } -TimeoutSeconds 180 -Because 'the second endpoint wrote its first rows'
            # The worker is the PowerShell that the second sshd started for the session.
            $workers = @(Get-DescendantProcessId -Id $sshd[1].Process.Id | Where-Object {
                (Get-Content -LiteralPath "/proc/$_/cmdline" -Raw -ErrorAction SilentlyContinue) -match '-sshs' })
            $workers | Should -HaveCount 1
            Stop-Process -Id $workers[0] -Force
            Wait-Until { $fleet.HasExited } -TimeoutSeconds 180 -Because 'the fleet script returned after losing a worker'
        } finally { Stop-ProcessAndDescendant $fleet.Id }
        $atKill = Get-ResultRowCount $victim
        $atKill | Should -BeLessThan $shardSizes[1] -Because 'the worker was killed before the end of its shard'
        Get-Content (Join-Path $work 'fleet-b.log.err') -Raw | Should -Not -BeNullOrEmpty -Because 'the lost worker is reported'

        $null = Invoke-FreshPwsh (Get-FleetScript $results)
        $keys = Get-Keys $victim
        $keys | Should -HaveCount $shardSizes[1]
        @($keys | Sort-Object -Unique) | Should -HaveCount $shardSizes[1]
        $merge = Join-FssdResult (Join-Path $results '*.csv') -Expected $photos -Root $photos
        $merge.Rows | Should -HaveCount 2000
        $merge.Missing | Should -BeNullOrEmpty
        $merge.Duplicates | Should -BeNullOrEmpty
        Write-Host "    the killed worker had written $atKill of $($shardSizes[1]) rows; the re-run added the rest"
    }
}
