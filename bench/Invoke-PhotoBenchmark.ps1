<#
.SYNOPSIS
    Out-of-distribution detection on real photos with the pretrained ImageNet ResNet18: every method the
    module makes without OoD data, on two photo benchmarks built from Debian packages, with AUROC, AUPRC
    and FPR at 95% TPR.
.DESCRIPTION
    Provisions (once; cached under -CachePath in a folder named by the SHA-256 of the source files and the
    selection rule):
      - photos: Tux Paint's stamps (Debian package tuxpaint-stamps-default), PNG photos of single objects
        on a transparent background, flattened onto white. A stamp counts as a photo when it has at least
        -PhotoColours distinct colours (clip-art stamps have flat fills and far fewer); the rule is
        imperfect — a few shaded drawings pass it — and is kept as it is so that the sets are fixed;
      - drawings: -DrawingCount clip-art PNGs of the Open Clip Art Library (openclipart-png), every n-th
        file in path order, flattened onto white;
    every image stored as JPEG (quality 92) with its longer side at most -Side pixels, by ImageMagick
    (package imagemagick). Missing packages are installed with apt-get when the script runs as root.

    Benchmarks (fixed splits: the in-distribution photos in path order, even positions fit, odd positions test):
      - animals: in-distribution the photos of animals/ ; OoD the drawings, and the photos of every other folder;
      - objects: in-distribution the photos outside animals/ (food, plants, vehicles, instruments, ...);
        OoD the drawings, and the animal photos.
    Methods, each fitted on the fit half alone (no OoD data anywhere):
      - the default: New-FssdDetector -Model $m -InDistribution $fit (the method it chooses is printed);
      - Knn at the last feature with k in -Neighbors; Knn's default layers (the last feature and the texture of the
        stage before it, the least of the two standardised scores) with k = 5; Knn with k = 5 on every tap
        (averaged after standardising);
      - Gaussian at the last feature, and on every tap;
      - FSSD per tap (center from 100 uniform-noise images, eps 0), and FSSD-Ensem calibrated
        outlier-free with the module's patch-shuffle pseudo-outliers at eps 0;
      - MSP is listed only where the model has a classifier head (the pretrained ResNet18 has none);
      - fine-tuned (unless -SkipFineTune): New-FssdClassifier -InitialModel on the fit half as class folders (the
        stamp folder of each photo: the animal group, or the object category; a class with fewer than 3 fitted
        photos joins 'other'), once with a new head alone and once with -TrainLastStage; for each, MSP, FSSD
        at the last stage, at the pooled feature and at the logits (eps 0), and the default detector on it.
    With -Audited, the twelve stamps that pass the colour rule but are drawings, judged by eye (2026-12-03:
    a button, a snowman, an Easter bunny, chick and daffodil, a jack-o'-lantern, Saturn, two cartoon houses,
    a road sign and two cartoon insects; bench/photo-bench-drawn-stamps.txt), are left out of every set
    after the split, so that each photo keeps its half; the sets on disk and their key do not change.
    Prints one table per benchmark and OoD set and writes them as Markdown to -MarkdownPath.
.EXAMPLE
    dotnet pwsh ./bench/Invoke-PhotoBenchmark.ps1
.EXAMPLE
    dotnet pwsh ./bench/Invoke-PhotoBenchmark.ps1 -Audited -SkipFssd -SkipFineTune
.EXAMPLE
    dotnet pwsh ./bench/Invoke-PhotoBenchmark.ps1 -ProvisionOnly
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $CachePath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-bench'),
    [int] $Side = 256,
    [int] $PhotoColours = 8000,
    [int] $DrawingCount = 100,
    [int[]] $Neighbors = @(1, 5, 10, 20),
    [string] $MarkdownPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-bench.md'),
    # Provision the image sets and print where they are; score nothing.
    [switch] $ProvisionOnly,
    # Leave out the FSSD rows (the slowest: every tap's FSSD and an outlier-free ensemble).
    [switch] $SkipFssd,
    # Leave out the fine-tuned rows (a new head, and a new head with the last stage, trained on the fit half's classes).
    [switch] $SkipFineTune,
    # Leave out the stamps that pass the colour rule but are drawings (judged by eye; bench/photo-bench-drawn-stamps.txt).
    [switch] $Audited
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3

$stamps = '/usr/share/tuxpaint/stamps'
# Stamps with at least -PhotoColours colours that are drawings all the same, judged by eye on 2026-12-03 (one file name a line).
$drawnStamps = @(Get-Content (Join-Path $PSScriptRoot 'photo-bench-drawn-stamps.txt') | Where-Object { $_.Trim() })
$clipart = '/usr/share/openclipart/png'
$ruleVersion = "photo-bench-1;colours>=$PhotoColours;drawings=$DrawingCount;side=$Side;jpeg92;white"

function Find-ImageMagick([string] $tool) {
    foreach ($candidate in @("/usr/bin/$tool-im6.q16", "/usr/bin/$tool", $tool)) {
        $cmd = Get-Command $candidate -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($cmd -and ((& $cmd.Source -version 2>$null) -join ' ') -match 'ImageMagick') { return $cmd.Source }
    }
    return $null
}

function Initialize-Packages {
    $missing = @()
    if (-not (Test-Path $stamps)) { $missing += 'tuxpaint-stamps-default' }
    if (-not (Test-Path $clipart)) { $missing += 'openclipart-png' }
    if (-not (Find-ImageMagick convert)) { $missing += 'imagemagick' }
    if ($missing.Count -eq 0) { return }
    $root = (& id -u) -eq '0'
    if (-not $root) { throw "The photo benchmark needs the Debian packages $($missing -join ', '): apt-get install $($missing -join ' ')" }
    Write-Host "Installing $($missing -join ', ') ..."
    & apt-get install -y --no-install-recommends @missing | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "apt-get install $($missing -join ' ') failed ($LASTEXITCODE)." }
}

function Get-ContentKey([string[]] $files) {
    $sha = [Security.Cryptography.IncrementalHash]::CreateHash([Security.Cryptography.HashAlgorithmName]::SHA256)
    $sha.AppendData([Text.Encoding]::UTF8.GetBytes($ruleVersion))
    foreach ($f in $files) {
        $sha.AppendData([Text.Encoding]::UTF8.GetBytes($f))
        $sha.AppendData([IO.File]::ReadAllBytes($f))
    }
    return ([Convert]::ToHexString($sha.GetHashAndReset())).Substring(0, 16).ToLowerInvariant()
}

function Convert-Set([string] $convert, [object[]] $items, [string] $folder) {
    New-Item -ItemType Directory -Force -Path $folder | Out-Null
    foreach ($item in $items) {
        $target = Join-Path $folder $item.Name
        if (Test-Path $target) { continue }
        & $convert "$($item.Source)[0]" -background white -alpha remove -alpha off -resize "${Side}x${Side}>" -quality 92 "$target.tmp.jpg"
        if ($LASTEXITCODE -ne 0) { throw "ImageMagick could not convert '$($item.Source)'." }
        Move-Item "$target.tmp.jpg" $target
    }
}

function Initialize-PhotoSets {
    Initialize-Packages
    $convert = Find-ImageMagick convert
    $identify = Find-ImageMagick identify
    $stampFiles = @(Get-ChildItem $stamps -Recurse -File -Filter *.png | ForEach-Object FullName | Sort-Object { $_ } -Culture ([cultureinfo]::InvariantCulture))
    $drawAll = @(Get-ChildItem $clipart -Recurse -File -Filter *.png | ForEach-Object FullName | Sort-Object { $_ } -Culture ([cultureinfo]::InvariantCulture))
    $step = [Math]::Max(1, [Math]::Floor($drawAll.Count / $DrawingCount))
    $drawFiles = @(for ($i = 0; $i -lt $drawAll.Count -and ($i / $step) -lt $DrawingCount; $i += $step) { $drawAll[$i] })
    $key = Get-ContentKey ($stampFiles + $drawFiles)
    $root = Join-Path $CachePath $key
    $manifest = Join-Path $root 'sets.json'
    if (Test-Path $manifest) { return (Get-Content $manifest -Raw | ConvertFrom-Json -AsHashtable) + @{ Root = $root } }

    Write-Host "Provisioning photo sets into $root (ImageMagick: $convert) ..."
    # Distinct colours of every stamp, 100 files per ImageMagick call.
    $colours = @{}
    for ($i = 0; $i -lt $stampFiles.Count; $i += 100) {
        $chunk = $stampFiles[$i..([Math]::Min($i + 99, $stampFiles.Count - 1))]
        $lines = & $identify -format "%k|%i`n" @($chunk | ForEach-Object { "$_[0]" }) 2>$null
        foreach ($line in $lines) { if ($line -match '^(\d+)\|(.*)$') { $colours[$Matches[2] -replace '\[0\]$', ''] = [int]$Matches[1] } }
    }
    $name = { param($path, $base) ($path.Substring($base.Length + 1) -replace '[/\\ ]', '_') -replace '\.png$', '.jpg' }
    $photos = @($stampFiles | Where-Object { $colours[$_] -ge $PhotoColours } |
        ForEach-Object { [pscustomobject]@{ Source = $_; Name = & $name $_ $stamps; Animal = $_.Substring($stamps.Length + 1).StartsWith('animals/') } })
    $drawings = @($drawFiles | ForEach-Object { [pscustomobject]@{ Source = $_; Name = & $name $_ $clipart } })
    Convert-Set $convert $photos (Join-Path $root 'photos')
    Convert-Set $convert $drawings (Join-Path $root 'drawings')
    $sets = @{
        Key = $key
        Rule = $ruleVersion
        Animals = @($photos | Where-Object Animal | ForEach-Object { "photos/$($_.Name)" })
        Objects = @($photos | Where-Object { -not $_.Animal } | ForEach-Object { "photos/$($_.Name)" })
        Drawings = @($drawings | ForEach-Object { "drawings/$($_.Name)" })
    }
    $sets | ConvertTo-Json | Set-Content $manifest
    return $sets + @{ Root = $root }
}

$sets = Initialize-PhotoSets
$full = { param([string[]] $relative) @($relative | ForEach-Object { Join-Path $sets.Root $_ }) }
Write-Host ("Photo sets {0}: {1} animal photos, {2} other object photos, {3} drawings ({4})" -f $sets.Key, $sets.Animals.Count, $sets.Objects.Count, $sets.Drawings.Count, $sets.Root)
if ($ProvisionOnly) { return }

Import-Module (Resolve-Path $ModulePath).Path
$model = Import-FssdModel -Pretrained ResNet18
$lastTap = $model.Layers[-1].Name
$allTaps = @($model.Layers | ForEach-Object Name)
$center = if (-not $SkipFssd) { New-FssdCenter -Model $model }

$photo = { param([string[]] $files) @($files | Where-Object { -not $Audited -or (Split-Path $_ -Leaf) -notin $drawnStamps }) }
$benchmarks = @(
    @{ Name = 'animals'; In = & $full $sets.Animals; Ood = [ordered]@{ drawings = & $full $sets.Drawings; 'other photos' = & $photo (& $full $sets.Objects) } }
    @{ Name = 'objects'; In = & $full $sets.Objects; Ood = [ordered]@{ drawings = & $full $sets.Drawings; 'other photos' = & $photo (& $full $sets.Animals) } }
)
if ($Audited) { Write-Host "Audited: $($drawnStamps.Count) drawn stamps left out of the photo sets." }
$rows = [System.Collections.Generic.List[object]]::new()
$md = [System.Text.StringBuilder]::new()
if ($Audited) { [void]$md.AppendLine("Audited: the $($drawnStamps.Count) stamps of photo-bench-drawn-stamps.txt (drawings that pass the colour rule) are left out of every set.`n") }
foreach ($b in $benchmarks) {
    $fit = & $photo @(for ($i = 0; $i -lt $b.In.Count; $i += 2) { $b.In[$i] })
    $test = & $photo @(for ($i = 1; $i -lt $b.In.Count; $i += 2) { $b.In[$i] })
    Write-Host "`n== $($b.Name): fit $($fit.Count), test $($test.Count) in-distribution; OoD $(($b.Ood.Keys | ForEach-Object { "$_ $($b.Ood[$_].Count)" }) -join ', ')"
    $detectors = [ordered]@{}
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $default = New-FssdDetector -Model $model -InDistribution $fit -InformationVariable choice
    $fitSeconds = $clock.Elapsed.TotalSeconds
    $chosen = "$($choice[0].MessageData)"
    Write-Host $chosen
    $detectors["default ($($default.Method)$(if ($default.Method -eq 'Knn') { ", k $($default.Neighbors)" }))"] = $default
    foreach ($k in $Neighbors) {
        $detectors["Knn k $k, last feature"] = New-FssdDetector -Model $model -InDistribution $fit -Method Knn -Neighbors $k -Layer $lastTap
    }
    # Knn's default layers (the last feature and the texture of the stage before it, least of the two) at another k.
    $detectors['Knn k 5, last feature + texture'] = New-FssdDetector -Model $model -InDistribution $fit -Method Knn -Neighbors 5
    $detectors['Knn k 5, every tap'] = New-FssdDetector -Model $model -InDistribution $fit -Method Knn -Neighbors 5 -Layer $allTaps
    $detectors['Gaussian, last feature'] = New-FssdDetector -Model $model -InDistribution $fit -Method Gaussian
    $detectors['Gaussian, every tap'] = New-FssdDetector -Model $model -InDistribution $fit -Method Gaussian -Layer $allTaps
    if (-not $SkipFssd) {
        $detectors['FSSD-Ensem outlier-free, eps 0'] = New-FssdDetector -Model $model -InDistribution $fit -Center $center -OutlierFree -Epsilon 0
    }
    $scored = @{}
    $score = {
        param($detector, [string[]] $files)
        $files | Measure-Fssd -Detector $detector
    }
    $inScores = @{}; $oodScores = @{}
    Write-Host ("Detectors fitted in {0:F0} s; scoring." -f $clock.Elapsed.TotalSeconds)
    foreach ($d in $detectors.Keys) {
        $step = [Diagnostics.Stopwatch]::StartNew()
        $inScores[$d] = @(& $score $detectors[$d] $test)
        foreach ($o in $b.Ood.Keys) { $oodScores["$d|$o"] = @(& $score $detectors[$d] $b.Ood[$o]) }
        Write-Host ("  {0}: scored in {1:F0} s" -f $d, $step.Elapsed.TotalSeconds)
    }
    if (-not $SkipFssd) {
        $tapIn = @($test | Measure-Fssd -Model $model -Center $center)
        $tapOut = @{}
        foreach ($o in $b.Ood.Keys) { $tapOut[$o] = @($b.Ood[$o] | Measure-Fssd -Model $model -Center $center) }
    }
    $tuned = @{}
    $tunedNotes = [System.Collections.Generic.List[string]]::new()
    if (-not $SkipFineTune) {
        $classOf = if ($b.Name -eq 'animals') { { param($f) (Split-Path $f -Leaf).Split('_')[1] } } else { { param($f) (Split-Path $f -Leaf).Split('_')[0] } }
        $folder = Join-Path ([IO.Path]::GetTempPath()) "fssd-photo-bench-classes-$PID-$($b.Name)"
        Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
        foreach ($g in ($fit | Group-Object { & $classOf $_ })) {
            $class = if ($g.Count -ge 3) { $g.Name } else { 'other' }
            New-Item -ItemType Directory -Force -Path (Join-Path $folder $class) | Out-Null
            $g.Group | Copy-Item -Destination (Join-Path $folder $class)
        }
        $classes = @(Get-ChildItem $folder -Directory | ForEach-Object { '{0} {1}' -f $_.Name, @(Get-ChildItem $_.FullName -File).Count })
        foreach ($variant in @(@{ Name = 'new head'; Stage = $false }, @{ Name = 'new head + last stage'; Stage = $true })) {
            $step = [Diagnostics.Stopwatch]::StartNew()
            $ft = New-FssdClassifier -InitialModel $model -TrainingSet $folder -OutputPath $folder -Name ($variant.Name -replace '[ +]+', '-') -TrainLastStage:$variant.Stage -Force
            $trainSeconds = $step.Elapsed.TotalSeconds
            $note = "{0}: {1} classes ({2}), trained in {3:F1} s, held-out accuracy {4:P0} ({5} photos)" -f $variant.Name, $ft.ClassNames.Count, ($classes -join ', '),
                $trainSeconds, $ft.Training.Epochs[-1].Accuracy, $ft.Training.ValidationCount
            Write-Host "  fine-tuned $note"
            $tunedNotes.Add($note)
            $ftCenter = New-FssdCenter -Model $ft
            $ftIn = @($test | Measure-Fssd -Model $ft -Center $ftCenter)
            $ftDefault = New-FssdDetector -Model $ft -InDistribution $fit -WarningAction SilentlyContinue
            $ftDefaultIn = @($test | Measure-Fssd -Detector $ftDefault)
            $stageTap = $ft.Layers[-3].Name
            foreach ($o in $b.Ood.Keys) {
                $ftOut = @($b.Ood[$o] | Measure-Fssd -Model $ft -Center $ftCenter)
                # Higher scores are in-distribution, as FSSD's: the softmax confidence as it is.
                $tuned["MSP, $($variant.Name)|$o"] = Get-FssdMetrics -InDistribution @($ftIn | ForEach-Object Confidence) -OutOfDistribution @($ftOut | ForEach-Object Confidence) -Method MSP
                foreach ($tap in @($stageTap, $ft.Layers[-2].Name, 'logits')) {
                    $tuned["FSSD at $tap, eps 0, $($variant.Name)|$o"] = Get-FssdMetrics -InDistribution $ftIn -OutOfDistribution $ftOut -Layer $tap -Method "FSSD $tap"
                }
                $tuned["default ($($ftDefault.Method)), $($variant.Name)|$o"] = Get-FssdMetrics -InDistribution $ftDefaultIn -OutOfDistribution @($b.Ood[$o] | Measure-Fssd -Detector $ftDefault) -Method default
            }
        }
        Remove-Item $folder -Recurse -Force -ErrorAction SilentlyContinue
    }
    [void]$md.AppendLine("### $($b.Name): $($fit.Count) photos fitted, $($test.Count) held-out in-distribution photos`n")
    foreach ($note in $tunedNotes) { [void]$md.AppendLine("Fine-tuned, $note`n") }
    [void]$md.AppendLine("Default: $chosen (fitted in $([Math]::Round($fitSeconds, 1)) s)`n")
    foreach ($o in $b.Ood.Keys) {
        [void]$md.AppendLine("Against $o ($($b.Ood[$o].Count) images):`n")
        [void]$md.AppendLine('| Method | AUROC | AUPRC-In | AUPRC-Out | FPR95 | OoD rejected at the threshold |')
        [void]$md.AppendLine('|---|---|---|---|---|---|')
        $add = {
            param([string] $method, $metrics, $rejected)
            $rows.Add([pscustomobject]@{ Benchmark = $b.Name; OoD = $o; Method = $method; AUROC = $metrics.AUROC; AUPRCIn = $metrics.AUPRCIn; AUPRCOut = $metrics.AUPRCOut; FPR95 = $metrics.FPR95; Rejected = $rejected })
            $rej = if ($null -ne $rejected) { '{0:P1}' -f $rejected } else { '-' }
            [void]$md.AppendLine(('| {0} | {1:F3} | {2:F3} | {3:F3} | {4:F3} | {5} |' -f $method, $metrics.AUROC, $metrics.AUPRCIn, $metrics.AUPRCOut, $metrics.FPR95, $rej))
        }
        foreach ($d in $detectors.Keys) {
            $m = Get-FssdMetrics -InDistribution $inScores[$d] -OutOfDistribution $oodScores["$d|$o"] -Method $d
            $out = $oodScores["$d|$o"]
            $rejected = @($out | Where-Object IsOutOfDistribution).Count / $out.Count
            & $add $d $m $rejected
        }
        if (-not $SkipFssd) {
            foreach ($tap in $allTaps) {
                $m = Get-FssdMetrics -InDistribution $tapIn -OutOfDistribution $tapOut[$o] -Layer $tap -Method "FSSD $tap"
                & $add "FSSD at $tap, eps 0" $m $null
            }
        }
        foreach ($key in @($tuned.Keys | Where-Object { $_.EndsWith("|$o") } | Sort-Object { $_ -like '*last stage*' }, { $_ })) {
            & $add ($key.Substring(0, $key.Length - $o.Length - 1)) $tuned[$key] $null
        }
        if ($model.HasClassifier) { [void]$md.AppendLine('| MSP | see New-FssdBaseline Base | | | | |') }
        else { [void]$md.AppendLine('| MSP | - (the network has no classifier head) | | | | |') }
        [void]$md.AppendLine()
    }
}
$rows | Format-Table Benchmark, OoD, Method, @{ n = 'AUROC'; e = { '{0:F3}' -f $_.AUROC } }, @{ n = 'AUPRC-In'; e = { '{0:F3}' -f $_.AUPRCIn } },
    @{ n = 'AUPRC-Out'; e = { '{0:F3}' -f $_.AUPRCOut } }, @{ n = 'FPR95'; e = { '{0:F3}' -f $_.FPR95 } }, @{ n = 'Rejected'; e = { if ($null -ne $_.Rejected) { '{0:P1}' -f $_.Rejected } } } -AutoSize | Out-String -Width 200 | Write-Host
$md.ToString() | Set-Content $MarkdownPath
Write-Host "Markdown tables: $MarkdownPath"
