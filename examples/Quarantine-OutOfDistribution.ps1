<#
.SYNOPSIS
    Data cleaning: moves the files a detector calls out of distribution into a quarantine folder (keeping
    their folders under it), and writes every score to a CSV (one column per tap) for a later look.
.DESCRIPTION
    Every image under -Incoming is scored; a file that cannot be read is reported and left where it is. A
    flagged file goes to the same relative place under -Quarantine, whatever its name ([ ], *, ?, spaces,
    any script). The summary counts the files actually moved. -WhatIf shows what would move and moves nothing.
.EXAMPLE
    ./examples/Quarantine-OutOfDistribution.ps1 -Incoming ./incoming -Quarantine ./quarantine
    Uses the module's default detector (LeNet on FashionMNIST).
.EXAMPLE
    ./examples/Quarantine-OutOfDistribution.ps1 -Incoming ./incoming -Quarantine ./quarantine -Detector ./my-net.fssd.yaml -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $Incoming,
    [Parameter(Mandatory)] [string] $Quarantine,
    [string] $Detector,
    [string] $ScoresCsv = (Join-Path $Quarantine 'scores.csv'),
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$d = if ($Detector) { Import-FssdDetector -Path $Detector } else { Import-FssdDetector }
$incomingRoot = (Resolve-Path -LiteralPath $Incoming).ProviderPath
$quarantineRoot = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Quarantine)
if (-not $WhatIfPreference) { $null = [IO.Directory]::CreateDirectory($quarantineRoot) }

# Unreadable files are reported (non-terminating) and skipped; everything else gets one score.
$scores = @(Get-ChildItem -LiteralPath $incomingRoot -File -Recurse |
    Where-Object { $_.Extension -in '.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp' } |
    Measure-Fssd -Detector $d -ErrorAction Continue)
$scores | Export-Csv -LiteralPath $ScoresCsv -NoTypeInformation
$flagged = @($scores | Where-Object IsOutOfDistribution)

$moved = 0
foreach ($score in $flagged) {
    $target = [IO.Path]::Combine($quarantineRoot, [IO.Path]::GetRelativePath($incomingRoot, $score.FullName))
    if ($PSCmdlet.ShouldProcess($score.FullName, "Move to $target")) {
        $null = [IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($target))
        # The score binds Move-Item's -LiteralPath (its PSPath): the name is taken as written.
        $item = $score | Move-Item -Destination $target -PassThru -ErrorAction Continue -WhatIf:$false
        if ($item) { $moved++ }
    }
}
$verb = if ($WhatIfPreference) { 'would be moved' } else { 'moved' }
$count = if ($WhatIfPreference) { $flagged.Count } else { $moved }
Write-Host ("{0} file(s) scored, {1} flagged, {2} {3} to {4}; scores in {5}" -f $scores.Count, $flagged.Count, $count, $verb, $quarantineRoot, $ScoresCsv)
