<#
.SYNOPSIS
    ResNet18 at 224 x 224, side by side: the module from JPEG files against PyTorch on the same images in
    memory, FSSD of one tap at eps = 0 and eps > 0, in one run.
.DESCRIPTION
    Makes -Count photo-sized JPEGs (640 x 480, quality 90) once under -WorkPath from the wallpapers of
    Debian's plasma-workspace-wallpapers, gnome-backgrounds and mate-backgrounds (ImageMagick; each source
    scaled to cover 640 x 480 and cut to it, mirrored or turned for more files than sources), and a seeded
    random torchvision-style ResNet18 state_dict with bench/resnet_pipeline.py (speed does not depend on the
    weights). Then, -Runs times and alternating, for eps = 0 and for eps = -Epsilon:
      - module: Get-ChildItem *.jpg | Measure-Fssd -Model <that ResNet18> -Center <noise F*> -Layer -Tap
                -Epsilon eps -Precision Float32, and again with -Precision BFloat16 (a fresh pwsh process
                each: decoding the JPEGs, resizing, scoring, the pipeline's objects; end to end);
      - PyTorch:bench/resnet_pipeline.py, Debian's python3-torch 1.13, the same state_dict, the same files
                decoded, resized and normalized before its clock starts; one tap's FSSD with the authors'
                step for eps > 0 (forward to the tap with gradients, backward, forward to the tap).
    Prints the median images per second of each and module / PyTorch.
.EXAMPLE
    dotnet pwsh ./bench/Compare-ResNetSpeed.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Fssd'),
    [string] $WorkPath = (Join-Path ([IO.Path]::GetTempPath()) 'fssd-resnet-speed'),
    [int] $Count = 256,
    [int] $Runs = 2,
    [string] $Tap = 'penultimate',
    [double] $Epsilon = 0.002,
    [int] $BatchSize = 32,
    [string] $Python = '/usr/bin/python3'
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$convert = @('/usr/bin/convert-im6.q16', '/usr/bin/convert', '/usr/local/bin/convert') | Where-Object { Test-Path $_ } | Select-Object -First 1
$sources = @(Get-ChildItem /usr/share/wallpapers, /usr/share/backgrounds -Recurse -File -Include *.jpg, *.png -ErrorAction SilentlyContinue |
    Where-Object { $_.Name -notlike 'screenshot*' -and $_.Length -gt 300KB } | Sort-Object FullName)
if ($sources.Count -eq 0 -or -not $convert) {
    throw 'Compare-ResNetSpeed needs the Debian packages plasma-workspace-wallpapers (or gnome-backgrounds, mate-backgrounds) and imagemagick.'
}
& $Python -c 'import torch, PIL' 2>$null
if ($LASTEXITCODE -ne 0) { throw 'Compare-ResNetSpeed needs python3-torch and python3-pil.' }

$folder = Join-Path $WorkPath "photos-$Count"
New-Item -ItemType Directory -Force -Path $folder | Out-Null
$variants = @(@(), @('-flop'), @('-rotate', '180'), @('-flip'))
for ($i = 0; $i -lt $Count; $i++) {
    $target = Join-Path $folder ('photo{0:D4}.jpg' -f $i)
    if (Test-Path $target) { continue }
    $variant = $variants[[Math]::Floor($i / $sources.Count) % $variants.Count]
    & $convert "$($sources[$i % $sources.Count].FullName)[0]" -resize '640x480^' -gravity center -extent 640x480 @variant -quality 90 "$target.tmp.jpg"
    if ($LASTEXITCODE -ne 0) { throw "ImageMagick could not make '$target'." }
    Move-Item "$target.tmp.jpg" $target
}
$files = @(Get-ChildItem $folder -Filter 'photo*.jpg' | Sort-Object Name | Select-Object -First $Count)
$list = Join-Path $WorkPath "files-$Count.txt"
Set-Content -LiteralPath $list -Value $files.FullName
$weights = Join-Path $WorkPath 'resnet18-random.pt'
if (-not (Test-Path $weights)) { & $Python (Join-Path $PSScriptRoot 'resnet_pipeline.py') $list --weights $weights --save; if ($LASTEXITCODE -ne 0) { throw 'Could not write the ResNet18 weights.' } }

function Invoke-Module([double] $Eps, [string] $Precision) {
    $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
`$m = Import-FssdModel -Path '$weights' -Architecture ResNet18
`$c = New-FssdCenter -Model `$m -NoiseSamples 16
`$files = [string[]](Get-Content -LiteralPath '$list')
`$null = `$files | Select-Object -First $BatchSize | Measure-Fssd -Model `$m -Center `$c -Layer $Tap -Epsilon $Eps -Precision $Precision -BatchSize $BatchSize
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$n = 0
`$files | Measure-Fssd -Model `$m -Center `$c -Layer $Tap -Epsilon $Eps -Precision $Precision -BatchSize $BatchSize | ForEach-Object { `$n++ }
@{ images = `$n; seconds = `$clock.Elapsed.TotalSeconds } | ConvertTo-Json -Compress
"@
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $out = & $exe @prefix -NoProfile -NonInteractive -EncodedCommand ([Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script)))
    if ($LASTEXITCODE -ne 0) { throw "A module run failed: $($out -join [Environment]::NewLine)" }
    $r = ($out | Select-Object -Last 1) | ConvertFrom-Json
    $r.images / $r.seconds
}

function Invoke-PyTorch([double] $Eps) {
    $out = & $Python (Join-Path $PSScriptRoot 'resnet_pipeline.py') $list --weights $weights --tap $Tap --eps $Eps --batch $BatchSize --threads ([Environment]::ProcessorCount)
    if ($LASTEXITCODE -ne 0) { throw "resnet_pipeline.py failed: $out" }
    ($out | Select-Object -Last 1 | ConvertFrom-Json).per_second
}

function Median([double[]] $v) { $s = $v | Sort-Object; if ($s.Count % 2) { $s[($s.Count - 1) / 2] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }

Import-Module $ModulePath
$context = Get-FssdContext
Write-Host ("{0:yyyy-MM-dd HH:mm} UTC, {1} ({2} threads), libtorch {3}, PyTorch {4}; {5} JPEGs of 640 x 480; ResNet18 at 224 x 224, tap {6}, batch {7}; instruction sets: {8}" -f
    [DateTime]::UtcNow, $context.DeviceName, $context.Threads, $context.TorchVersion, (& $Python -c 'import torch; print(torch.__version__)'), $files.Count, $Tap, $BatchSize, ($context.InstructionSets -join ', '))
$rows = foreach ($eps in 0, $Epsilon) {
    $fp32 = [Collections.Generic.List[double]]::new(); $bf16 = [Collections.Generic.List[double]]::new(); $torch = [Collections.Generic.List[double]]::new()
    for ($r = 1; $r -le $Runs; $r++) {
        $fp32.Add((Invoke-Module $eps Float32)); $torch.Add((Invoke-PyTorch $eps)); $bf16.Add((Invoke-Module $eps BFloat16))
        Write-Host ("eps {0}, run {1}: module float32 {2:F1}/s, module bfloat16 {3:F1}/s, PyTorch {4:F1}/s" -f $eps, $r, $fp32[-1], $bf16[-1], $torch[-1])
    }
    $t = Median $torch.ToArray()
    [pscustomobject]@{ Epsilon = "$eps"; 'Module float32 (files)' = [math]::Round((Median $fp32.ToArray()), 1); 'Module bfloat16 (files)' = [math]::Round((Median $bf16.ToArray()), 1)
        'PyTorch (memory)' = [math]::Round($t, 1); 'float32 / PyTorch' = '{0:F2}x' -f ((Median $fp32.ToArray()) / $t); 'bfloat16 / PyTorch' = '{0:F2}x' -f ((Median $bf16.ToArray()) / $t) }
}
"Images per second, median of $Runs run(s)"
$rows | Format-Table -AutoSize | Out-String -Width 200
