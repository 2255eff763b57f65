<#
.SYNOPSIS
    Images per second on 12-megapixel JPEGs (or -Size) with the pretrained ImageNet ResNet18: decoding alone, and end
    to end (Measure-Fssd -Detector with the default detector, files to scores).
.DESCRIPTION
    Makes -Count JPEGs of -Size pixels (default 4000 x 3000, quality 90) once, under -WorkPath, from the large wallpaper
    photos and renders of Debian's plasma-workspace-wallpapers, gnome-backgrounds and mate-backgrounds
    (each source scaled to cover the size and cut to it, then mirrored or rotated by 180 degrees to
    make more files than there are sources), with ImageMagick. Then, in this process:
      - decode: the files decoded as Measure-Fssd decodes them (its worker threads; JPEG decoded at the
        smallest reduced scale that still covers 224 x 224, then resized), nothing scored;
      - fit: New-FssdDetector on the first -FitCount files (the default: Knn on the pooled feature);
      - end to end: Get-ChildItem | Measure-Fssd -Detector, decoding, the network and the pipeline's objects;
    each timed -Runs times after one warm-up run on a few files; the median is printed.

    -Camera makes the files as a phone camera writes them instead: chroma subsampled 4:2:0 and with
    sensor-like noise (ImageMagick's Gaussian noise at attenuation 0.4), about 3 MB each where the smooth
    wallpapers at 4:4:4 (ImageMagick's default at quality 90) make about 1 MB. A JPEG decoder's time
    follows the compressed bytes (its entropy decoding), so the two bracket what users have.
    -Size 512x384 makes images of the size of Food-101's (at most 512 px a side), the data set of
    cleanvision's published speed.
.EXAMPLE
    dotnet pwsh ./bench/Measure-PhotoSpeed.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-photo-speed'),
    [int] $Count = 48,
    [int] $FitCount = 16,
    [int] $Runs = 3,
    # Width x height of the JPEGs.
    [ValidatePattern('^\d+x\d+$')]
    [string] $Size = '4000x3000',
    # JPEGs as a camera writes them: 4:2:0, with sensor-like noise (about 3 MB each).
    [switch] $Camera,
    # Make the JPEGs and stop.
    [switch] $ProvisionOnly
)
$ErrorActionPreference = 'Stop'

$convert = @('/usr/bin/convert-im6.q16', '/usr/bin/convert') | Where-Object { Test-Path $_ } | Select-Object -First 1
$sources = @(Get-ChildItem /usr/share/wallpapers, /usr/share/backgrounds -Recurse -File -Include *.jpg, *.png -ErrorAction SilentlyContinue |
    Where-Object { $_.Name -notlike 'screenshot*' -and $_.Length -gt 300KB } | Sort-Object FullName)
if ($sources.Count -eq 0 -or -not $convert) {
    throw 'Measure-PhotoSpeed needs the Debian packages plasma-workspace-wallpapers (or gnome-backgrounds, mate-backgrounds) and imagemagick.'
}
$name = '{0}{1}-{2}' -f $(if ($Size -eq '4000x3000') { '12mp' } else { $Size }), $(if ($Camera) { '-camera' } else { '' }), $Count
$folder = Join-Path $WorkPath $name
$look = if ($Camera) { @('-attenuate', '0.4', '+noise', 'Gaussian', '-sampling-factor', '4:2:0') } else { @() }
New-Item -ItemType Directory -Force -Path $folder | Out-Null
$variants = @(@(), @('-flop'), @('-rotate', '180'))
for ($i = 0; $i -lt $Count; $i++) {
    $target = Join-Path $folder ('photo{0:D3}.jpg' -f $i)
    if (Test-Path $target) { continue }
    $source = $sources[$i % $sources.Count].FullName
    $variant = $variants[[Math]::Floor($i / $sources.Count) % $variants.Count]
    & $convert "$source[0]" -resize "$Size^" -gravity center -extent $Size @variant @look -quality 90 "$target.tmp.jpg"
    if ($LASTEXITCODE -ne 0) { throw "ImageMagick could not make '$target' from '$source'." }
    Move-Item "$target.tmp.jpg" $target
}
$files = @(Get-ChildItem $folder -Filter 'photo*.jpg' | Sort-Object Name)
$megabytes = ($files | Measure-Object Length -Sum).Sum / 1MB
Write-Host ("{0} JPEGs of {1} ({2:F0} MB, {3:F2} MB each) in {4}" -f $files.Count, ($Size -replace 'x', ' x '), $megabytes, ($megabytes / $files.Count), $folder)
if ($ProvisionOnly) { return }

Import-Module (Resolve-Path $ModulePath).Path
$context = Get-FssdContext
$model = Import-FssdModel -Pretrained ResNet18
$engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Fssd.Engine' } | Select-Object -First 1
# The decoding harness (bench/ScoringSpeed.cs) is compiled against that engine and loaded beside it.
$lib = Split-Path -Parent $engine.Location
$harness = Join-Path ([IO.Path]::GetTempPath()) "fssd-scoring-speed-$PID.dll"
$references = @('Fssd.Engine.dll', 'TorchSharp.dll') | ForEach-Object { Join-Path $lib $_ }
$references += [Fssd.FssdDetector].Assembly.Location, 'System.Linq', 'System.Collections', 'System.Threading', 'System.Runtime'
Add-Type -Path (Join-Path $PSScriptRoot 'ScoringSpeed.cs') -ReferencedAssemblies $references -OutputAssembly $harness -OutputType Library -IgnoreWarnings 3>$null
$speed = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).LoadFromAssemblyPath($harness).GetType('Fssd.Bench.ScoringSpeed', $true)
$none = [Threading.CancellationToken]::None
$paths = [string[]]$files.FullName
function Median([double[]] $values) { $sorted = $values | Sort-Object; $sorted[[Math]::Floor(($sorted.Count - 1) / 2)] }

$null = $speed::Decode([string[]]($paths | Select-Object -First 4), $model.InputSpec, $none)
$decode = @(1..$Runs | ForEach-Object { $speed::Decode($paths, $model.InputSpec, $none).Item2.Seconds })

$clock = [Diagnostics.Stopwatch]::StartNew()
$detector = New-FssdDetector -Model $model -InDistribution ($files | Select-Object -First $FitCount)
$fitSeconds = $clock.Elapsed.TotalSeconds

$null = $files | Select-Object -First 4 | Measure-Fssd -Detector $detector
$endToEnd = @(1..$Runs | ForEach-Object {
    $clock.Restart()
    $scores = @($files | Measure-Fssd -Detector $detector)
    if ($scores.Count -ne $files.Count) { throw "Scored $($scores.Count) of $($files.Count) files." }
    $clock.Elapsed.TotalSeconds
})

$rows = @(
    [pscustomobject]@{ Stage = "decode only ($($Size -replace 'x', ' x ') JPEG to 224 x 224)"; Seconds = (Median $decode); ImagesPerSecond = $files.Count / (Median $decode) }
    [pscustomobject]@{ Stage = "fit: New-FssdDetector on $FitCount files ($($detector.Method))"; Seconds = $fitSeconds; ImagesPerSecond = $FitCount / $fitSeconds }
    [pscustomobject]@{ Stage = 'end to end: Measure-Fssd -Detector'; Seconds = (Median $endToEnd); ImagesPerSecond = $files.Count / (Median $endToEnd) }
)
$rows | Format-Table Stage, @{ n = 'Seconds'; e = { '{0:F2}' -f $_.Seconds } }, @{ n = 'Images/s'; e = { '{0:F1}' -f $_.ImagesPerSecond } } -AutoSize | Out-String -Width 160 | Write-Host
Write-Host ("Threads: {0}; runs: {1}; decode runs {2} s; end-to-end runs {3} s" -f $context.Threads, $Runs,
    (($decode | ForEach-Object { '{0:F2}' -f $_ }) -join ', '), (($endToEnd | ForEach-Object { '{0:F2}' -f $_ }) -join ', '))
