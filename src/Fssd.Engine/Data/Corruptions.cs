using System;
using System.Collections.Generic;
using System.Linq;
using SkiaSharp;

namespace Fssd.Engine.Data;

/// <summary>
/// Test-time corruptions in the families of ImageNet-C (Hendrycks and Dietterich, 2019) and MNIST-C
/// (Mu and Gilmer, 2019), scaled to 28 × 28 images. The first two are the robustness experiment's
/// noises; all of them are the corrupted-copy benchmark's OoD sets. <see cref="Corruptions.Definitions"/>
/// holds every kind's five levels.
/// </summary>
public enum CorruptionKind
{
    /// <summary>Additive Gaussian noise on [0, 1] pixels, clipped.</summary>
    GaussianNoise,

    /// <summary>Salt-and-pepper noise: a share of pixels set to black or white.</summary>
    ImpulseNoise,

    /// <summary>Poisson (shot) noise: each pixel drawn as Poisson(x·c)/c.</summary>
    ShotNoise,

    /// <summary>Multiplicative Gaussian noise: x + x·N(0, σ).</summary>
    SpeckleNoise,

    /// <summary>Convolution with an anti-aliased disk (out of focus).</summary>
    DefocusBlur,

    /// <summary>Average along a line of a random direction (camera shake).</summary>
    MotionBlur,

    /// <summary>Average of copies zoomed about the centre from 1 to a factor.</summary>
    ZoomBlur,

    /// <summary>Gaussian blur, then pixels swapped with random neighbours, repeated (frosted glass).</summary>
    GlassBlur,

    /// <summary>A plasma-fractal haze added and the range rescaled.</summary>
    Fog,

    /// <summary>Random blobs from blurred, thresholded noise, blended in as grey drops.</summary>
    Spatter,

    /// <summary>A constant added to every pixel.</summary>
    Brightness,

    /// <summary>Pixels pulled towards the image's mean.</summary>
    Contrast,

    /// <summary>A smooth random displacement field (elastic deformation).</summary>
    Elastic,

    /// <summary>Averaged down to a coarser grid and blown up again.</summary>
    Pixelate,

    /// <summary>JPEG encoding and decoding (SkiaSharp) at a low quality.</summary>
    Jpeg,

    /// <summary>Horizontal shear about the centre, of random sign.</summary>
    Shear,

    /// <summary>Rotation about the centre, of random sign.</summary>
    Rotate,

    /// <summary>Shrunk about the centre.</summary>
    Scale,

    /// <summary>Shifted by whole pixels in a random direction; what leaves the frame is lost.</summary>
    Translate,

    /// <summary>Bright vertical stripes one pixel wide at random columns.</summary>
    Stripes,

    /// <summary>Random straight lines of bright dots.</summary>
    DottedLine,

    /// <summary>Sobel edge magnitude blended in.</summary>
    Edges,
}

/// <summary>One corruption kind: its family, what its parameter is, and the parameter at levels 1 to 5.</summary>
public sealed record CorruptionDefinition(CorruptionKind Kind, string Family, string Parameter, IReadOnlyList<double> Levels, string Notes);

/// <summary>
/// Every corruption and its five levels, in one place. An image is corrupted from its own random stream,
/// seeded by (seed, kind, level, index), so a corrupted set is the same on every machine and thread count.
/// Gaussian and impulse noise keep ImageNet-C's severities: σ 0.08, 0.12, 0.18, 0.26, 0.38 and
/// amounts 0.03, 0.06, 0.09, 0.17, 0.27.
/// </summary>
public static class Corruptions
{
    public static IReadOnlyList<double> GaussianSigmas { get; } = new[] { 0.08, 0.12, 0.18, 0.26, 0.38 };
    public static IReadOnlyList<double> ImpulseAmounts { get; } = new[] { 0.03, 0.06, 0.09, 0.17, 0.27 };

    /// <summary>Glass blur's (σ of the blur, swap distance in pixels, rounds of swaps) per level.</summary>
    private static readonly (double Sigma, int Distance, int Rounds)[] GlassLevels =
        { (0.4, 1, 1), (0.5, 1, 2), (0.6, 1, 3), (0.8, 2, 2), (1.0, 2, 3) };

    /// <summary>Spatter's share of pixels covered and the drops' opacity per level.</summary>
    private static readonly double[] SpatterOpacity = { 0.5, 0.6, 0.7, 0.8, 0.9 };

    /// <summary>Every kind, its family and its levels (the table in docs/corruptions.md is this one).</summary>
    public static IReadOnlyList<CorruptionDefinition> Definitions { get; } = new CorruptionDefinition[]
    {
        new(CorruptionKind.GaussianNoise, "noise", "sigma on [0, 1] pixels", GaussianSigmas, "ImageNet-C's severities"),
        new(CorruptionKind.ShotNoise, "noise", "photons per unit intensity c (lower is noisier)", new[] { 60.0, 25, 12, 5, 3 }, "ImageNet-C's severities"),
        new(CorruptionKind.ImpulseNoise, "noise", "share of pixels set to 0 or 1", ImpulseAmounts, "ImageNet-C's severities"),
        new(CorruptionKind.SpeckleNoise, "noise", "sigma of the multiplicative noise", new[] { 0.15, 0.2, 0.35, 0.45, 0.6 }, "ImageNet-C's severities"),
        new(CorruptionKind.DefocusBlur, "blur", "disk radius (pixels)", new[] { 0.6, 0.9, 1.2, 1.6, 2.0 }, "disk weights by covered area"),
        new(CorruptionKind.MotionBlur, "blur", "line length (pixels)", new[] { 2.0, 3.0, 4.0, 5.0, 6.5 }, "random direction"),
        new(CorruptionKind.ZoomBlur, "blur", "largest zoom factor", new[] { 1.06, 1.11, 1.16, 1.21, 1.26 }, "8 copies from 1 to the factor"),
        new(CorruptionKind.GlassBlur, "blur", "sigma of the blur", GlassLevels.Select(g => g.Sigma).ToArray(),
            "swap distance 1, 1, 1, 2, 2 pixels; 1, 2, 3, 2, 3 rounds of swaps"),
        new(CorruptionKind.Fog, "weather", "haze strength", new[] { 0.3, 0.5, 0.7, 0.9, 1.2 }, "plasma fractal, roughness 0.6"),
        new(CorruptionKind.Spatter, "weather", "share of pixels under drops", new[] { 0.06, 0.1, 0.15, 0.22, 0.3 },
            "grey (0.5) drops of opacity 0.5, 0.6, 0.7, 0.8, 0.9"),
        new(CorruptionKind.Brightness, "digital", "added to every pixel", new[] { 0.1, 0.2, 0.3, 0.4, 0.5 }, "ImageNet-C's severities"),
        new(CorruptionKind.Contrast, "digital", "factor towards the mean (lower is flatter)", new[] { 0.4, 0.3, 0.2, 0.1, 0.05 }, "ImageNet-C's severities"),
        new(CorruptionKind.Elastic, "digital", "largest displacement (pixels)", new[] { 1.0, 1.5, 2.0, 2.5, 3.0 }, "noise field smoothed with sigma 3"),
        new(CorruptionKind.Pixelate, "digital", "side of the coarse grid (pixels of 28)", new[] { 20.0, 16, 12, 9, 7 }, "box average down, nearest up"),
        new(CorruptionKind.Jpeg, "digital", "JPEG quality", new[] { 30.0, 20, 12, 8, 5 }, "SkiaSharp encoder, one plane per channel"),
        new(CorruptionKind.Shear, "geometric", "shear factor", new[] { 0.1, 0.2, 0.3, 0.4, 0.5 }, "random sign; MNIST-C's range"),
        new(CorruptionKind.Rotate, "geometric", "angle (degrees)", new[] { 6.0, 12, 18, 24, 30 }, "random sign"),
        new(CorruptionKind.Scale, "geometric", "size factor", new[] { 0.9, 0.8, 0.7, 0.6, 0.5 }, "about the centre"),
        new(CorruptionKind.Translate, "geometric", "shift (pixels)", new[] { 1.0, 2, 3, 4, 5 }, "one of 8 directions at random"),
        new(CorruptionKind.Stripes, "geometric", "stripes", new[] { 1.0, 2, 3, 4, 6 }, "distinct random columns, value 1"),
        new(CorruptionKind.DottedLine, "geometric", "lines", new[] { 1.0, 2, 3, 4, 5 }, "dots every 2 pixels along random chords, value 1"),
        new(CorruptionKind.Edges, "geometric", "weight of the edge map", new[] { 0.2, 0.4, 0.6, 0.8, 1.0 }, "Sobel magnitude, scaled to [0, 1]"),
    };

    public static CorruptionDefinition Definition(CorruptionKind kind) =>
        Definitions.FirstOrDefault(d => d.Kind == kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "No such corruption.");

    /// <summary>The severity parameter of a level (1 to 5).</summary>
    public static double Severity(CorruptionKind kind, int level)
    {
        if (level is < 1 or > 5) throw new ArgumentOutOfRangeException(nameof(level), level, "Corruption levels are 1 to 5.");
        return Definition(kind).Levels[level - 1];
    }

    /// <summary>
    /// Corrupts decoded inputs (bytes 0..255, channels × <paramref name="height"/> × <paramref name="width"/>);
    /// image i draws from a stream seeded by (seed, kind, level, i).
    /// </summary>
    public static List<byte[]> Apply(IReadOnlyList<byte[]> inputs, CorruptionKind kind, int level, long seed, int height = 28, int width = 28)
    {
        double severity = Severity(kind, level);
        int plane = height * width;
        if (plane <= 0) throw new ArgumentOutOfRangeException(nameof(height), "The image size must be positive.");
        var result = new byte[inputs.Count][];
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i] is null || inputs[i].Length == 0 || inputs[i].Length % plane != 0)
                throw new ArgumentException($"Input {i} has {inputs[i]?.Length ?? 0} values, not a whole number of {height}x{width} planes.", nameof(inputs));
        if (kind == CorruptionKind.Jpeg) Runtime.NativeRuntime.EnsureImagingLoaded();
        System.Threading.Tasks.Parallel.For(0, inputs.Count, i =>
        {
            var x = inputs[i];
            ulong state = unchecked((ulong)seed * 1_000_003UL + (ulong)kind * 101UL + (ulong)level * 10_007UL + (ulong)i);
            var random = new Random(unchecked((int)SplitMix64.Next(ref state)));
            result[i] = kind switch
            {
                CorruptionKind.GaussianNoise or CorruptionKind.ImpulseNoise => PixelNoise(x, kind, severity, random),
                _ => PerPlane(x, height, width, kind, level, severity, random),
            };
        });
        return result.ToList();
    }

    /// <summary>The robustness experiment's two noises, pixel by pixel in one stream (their published figures were drawn so).</summary>
    private static byte[] PixelNoise(byte[] x, CorruptionKind kind, double severity, Random random)
    {
        var y = new byte[x.Length];
        for (int p = 0; p < x.Length; p++)
        {
            if (kind == CorruptionKind.GaussianNoise)
            {
                y[p] = ToByte(x[p] / 255.0 + severity * Normal(random));
            }
            else
            {
                double u = random.NextDouble();
                y[p] = u < severity / 2 ? (byte)0 : u < severity ? (byte)255 : x[p];
            }
        }
        return y;
    }

    private static byte[] PerPlane(byte[] x, int h, int w, CorruptionKind kind, int level, double s, Random random)
    {
        int plane = h * w, channels = x.Length / plane;
        var y = new byte[x.Length];
        // Geometry drawn once per image, shared by its channels.
        var geometry = Geometry(kind, s, h, w, random);
        for (int c = 0; c < channels; c++)
        {
            var img = new double[plane];
            for (int p = 0; p < plane; p++) img[p] = x[c * plane + p] / 255.0;
            var output = kind == CorruptionKind.Jpeg
                ? Jpeg(x.AsSpan(c * plane, plane), h, w, (int)s)
                : Corrupt(img, h, w, kind, level, s, random, geometry);
            for (int p = 0; p < plane; p++) y[c * plane + p] = ToByte(output[p]);
        }
        return y;
    }

    /// <summary>Random choices that must be the same for every channel of an image (directions, fields, masks).</summary>
    private sealed class Draws
    {
        public double Angle;
        public int Sign = 1;
        public int Dx, Dy;
        public double[]? FieldX, FieldY, Mask;
        public int[]? Columns;
        public List<(double X0, double Y0, double X1, double Y1)>? Lines;
    }

    private static Draws Geometry(CorruptionKind kind, double s, int h, int w, Random random)
    {
        var d = new Draws();
        switch (kind)
        {
            case CorruptionKind.MotionBlur:
                d.Angle = random.NextDouble() * Math.PI;
                break;
            case CorruptionKind.Shear:
            case CorruptionKind.Rotate:
                d.Sign = random.Next(2) == 0 ? -1 : 1;
                break;
            case CorruptionKind.Translate:
                int dir = random.Next(8);
                int[] dxs = { 1, 1, 0, -1, -1, -1, 0, 1 }, dys = { 0, 1, 1, 1, 0, -1, -1, -1 };
                d.Dx = dxs[dir] * (int)s;
                d.Dy = dys[dir] * (int)s;
                break;
            case CorruptionKind.Elastic:
                d.FieldX = SmoothField(h, w, random, s);
                d.FieldY = SmoothField(h, w, random, s);
                break;
            case CorruptionKind.Fog:
                d.Mask = Plasma(h, w, random);
                break;
            case CorruptionKind.Spatter:
            {
                var noise = new double[h * w];
                for (int p = 0; p < noise.Length; p++) noise[p] = Normal(random);
                noise = GaussianBlur(noise, h, w, 1.2);
                // The drops cover the share s of pixels: threshold at the (1 − s) quantile.
                var sorted = noise.OrderBy(v => v).ToArray();
                double threshold = sorted[Math.Clamp((int)Math.Round((1 - s) * sorted.Length), 0, sorted.Length - 1)];
                d.Mask = noise.Select(v => v >= threshold ? 1.0 : 0.0).ToArray();
                break;
            }
            case CorruptionKind.Stripes:
                d.Columns = Enumerable.Range(0, w).OrderBy(_ => random.Next()).Take(Math.Min(w, (int)s)).ToArray();
                break;
            case CorruptionKind.DottedLine:
                d.Lines = new();
                for (int k = 0; k < (int)s; k++)
                {
                    // A chord between two random points on different sides of the frame.
                    int first = random.Next(4), second = (first + 1 + random.Next(3)) % 4;
                    var (x0, y0) = Edge(random, w, h, first);
                    var (x1, y1) = Edge(random, w, h, second);
                    d.Lines.Add((x0, y0, x1, y1));
                }
                break;
        }
        return d;
    }

    private static (double X, double Y) Edge(Random random, int w, int h, int side)
    {
        double t = random.NextDouble();
        return side switch
        {
            0 => (t * (w - 1), 0),
            1 => (w - 1, t * (h - 1)),
            2 => (t * (w - 1), h - 1),
            _ => (0, t * (h - 1)),
        };
    }

    private static double[] Corrupt(double[] x, int h, int w, CorruptionKind kind, int level, double s, Random random, Draws d)
    {
        int n = h * w;
        var y = new double[n];
        switch (kind)
        {
            case CorruptionKind.ShotNoise:
                for (int p = 0; p < n; p++) y[p] = Poisson(random, x[p] * s) / s;
                return y;
            case CorruptionKind.SpeckleNoise:
                for (int p = 0; p < n; p++) y[p] = x[p] + x[p] * s * Normal(random);
                return y;
            case CorruptionKind.DefocusBlur:
                return Convolve(x, h, w, DiskKernel(s));
            case CorruptionKind.MotionBlur:
            {
                // Samples every quarter pixel along a centred segment of length s.
                int samples = (int)Math.Ceiling(s * 4) + 1;
                double cos = Math.Cos(d.Angle), sin = Math.Sin(d.Angle);
                for (int k = 0; k < samples; k++)
                {
                    double t = -s / 2 + s * k / (samples - 1);
                    for (int r = 0; r < h; r++)
                        for (int c = 0; c < w; c++)
                            y[r * w + c] += Bilinear(x, h, w, r + t * sin, c + t * cos) / samples;
                }
                return y;
            }
            case CorruptionKind.ZoomBlur:
            {
                const int copies = 8;
                double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
                for (int k = 0; k < copies; k++)
                {
                    double z = 1 + (s - 1) * k / (copies - 1);
                    for (int r = 0; r < h; r++)
                        for (int c = 0; c < w; c++)
                            y[r * w + c] += Bilinear(x, h, w, cy + (r - cy) / z, cx + (c - cx) / z) / copies;
                }
                return y;
            }
            case CorruptionKind.GlassBlur:
            {
                var (sigma, distance, rounds) = GlassLevels[level - 1];
                y = GaussianBlur(x, h, w, sigma);
                for (int round = 0; round < rounds; round++)
                    for (int r = h - 1 - distance; r >= distance; r--)
                        for (int c = w - 1 - distance; c >= distance; c--)
                        {
                            int r2 = r + random.Next(-distance, distance + 1), c2 = c + random.Next(-distance, distance + 1);
                            (y[r * w + c], y[r2 * w + c2]) = (y[r2 * w + c2], y[r * w + c]);
                        }
                return GaussianBlur(y, h, w, sigma);
            }
            case CorruptionKind.Fog:
            {
                double max = x.Max();
                if (max <= 0) max = 1;
                for (int p = 0; p < n; p++) y[p] = (x[p] + s * d.Mask![p]) * max / (max + s);
                return y;
            }
            case CorruptionKind.Spatter:
            {
                double opacity = SpatterOpacity[level - 1];
                for (int p = 0; p < n; p++) y[p] = x[p] * (1 - opacity * d.Mask![p]) + 0.5 * opacity * d.Mask![p];
                return y;
            }
            case CorruptionKind.Brightness:
                for (int p = 0; p < n; p++) y[p] = x[p] + s;
                return y;
            case CorruptionKind.Contrast:
            {
                double mean = x.Average();
                for (int p = 0; p < n; p++) y[p] = (x[p] - mean) * s + mean;
                return y;
            }
            case CorruptionKind.Elastic:
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                        y[r * w + c] = Bilinear(x, h, w, r + d.FieldY![r * w + c], c + d.FieldX![r * w + c]);
                return y;
            case CorruptionKind.Pixelate:
            {
                int side = (int)s;
                var coarse = new double[side * side];
                var counts = new double[side * side];
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        int cell = r * side / h * side + c * side / w;
                        coarse[cell] += x[r * w + c];
                        counts[cell]++;
                    }
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        int cell = r * side / h * side + c * side / w;
                        y[r * w + c] = coarse[cell] / counts[cell];
                    }
                return y;
            }
            case CorruptionKind.Shear:
            case CorruptionKind.Rotate:
            case CorruptionKind.Scale:
            {
                // Inverse mapping about the centre: output (r, c) reads the input at A⁻¹ (r − centre, c − centre).
                double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        double u = c - cx, v = r - cy, sx, sy;
                        if (kind == CorruptionKind.Shear) { sx = u - d.Sign * s * v; sy = v; }
                        else if (kind == CorruptionKind.Rotate)
                        {
                            double a = d.Sign * s * Math.PI / 180, cos = Math.Cos(a), sin = Math.Sin(a);
                            sx = cos * u + sin * v;
                            sy = -sin * u + cos * v;
                        }
                        else { sx = u / s; sy = v / s; }
                        y[r * w + c] = Bilinear(x, h, w, sy + cy, sx + cx);
                    }
                return y;
            }
            case CorruptionKind.Translate:
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        int r0 = r - d.Dy, c0 = c - d.Dx;
                        y[r * w + c] = r0 >= 0 && r0 < h && c0 >= 0 && c0 < w ? x[r0 * w + c0] : 0;
                    }
                return y;
            case CorruptionKind.Stripes:
                Array.Copy(x, y, n);
                foreach (int c in d.Columns!)
                    for (int r = 0; r < h; r++) y[r * w + c] = 1;
                return y;
            case CorruptionKind.DottedLine:
                Array.Copy(x, y, n);
                foreach (var (x0, y0, x1, y1) in d.Lines!)
                {
                    double length = Math.Sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
                    for (double t = 0; t <= length; t += 2)
                    {
                        int c = (int)Math.Round(x0 + (x1 - x0) * t / Math.Max(length, 1e-9));
                        int r = (int)Math.Round(y0 + (y1 - y0) * t / Math.Max(length, 1e-9));
                        if (r >= 0 && r < h && c >= 0 && c < w) y[r * w + c] = 1;
                    }
                }
                return y;
            case CorruptionKind.Edges:
            {
                var edges = new double[n];
                double Px(int r, int c) => x[Math.Clamp(r, 0, h - 1) * w + Math.Clamp(c, 0, w - 1)];
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        double gx = Px(r - 1, c + 1) + 2 * Px(r, c + 1) + Px(r + 1, c + 1) - Px(r - 1, c - 1) - 2 * Px(r, c - 1) - Px(r + 1, c - 1);
                        double gy = Px(r + 1, c - 1) + 2 * Px(r + 1, c) + Px(r + 1, c + 1) - Px(r - 1, c - 1) - 2 * Px(r - 1, c) - Px(r - 1, c + 1);
                        // The largest magnitude a [0, 1] image can give is 4√2.
                        edges[r * w + c] = Math.Min(1, Math.Sqrt(gx * gx + gy * gy) / 4);
                    }
                for (int p = 0; p < n; p++) y[p] = (1 - s) * x[p] + s * edges[p];
                return y;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "No such corruption.");
        }
    }

    private static double[] Jpeg(ReadOnlySpan<byte> plane, int h, int w, int quality)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        plane.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality)
            ?? throw new InvalidOperationException("SkiaSharp could not encode a JPEG.");
        using var decoded = SKBitmap.Decode(data, new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque))
            ?? throw new InvalidOperationException("SkiaSharp could not decode its own JPEG.");
        var pixels = decoded.GetPixelSpan();
        var y = new double[h * w];
        for (int p = 0; p < y.Length; p++) y[p] = pixels[p] / 255.0;
        return y;
    }

    private static byte ToByte(double v) => (byte)Math.Round(Math.Clamp(v, 0, 1) * 255);

    /// <summary>Box–Muller.</summary>
    private static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Knuth's method for small means, a rounded normal approximation above 30.</summary>
    private static double Poisson(Random random, double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 30) return Math.Max(0, Math.Round(mean + Math.Sqrt(mean) * Normal(random)));
        double limit = Math.Exp(-mean), product = random.NextDouble();
        int k = 0;
        while (product > limit)
        {
            k++;
            product *= random.NextDouble();
        }
        return k;
    }

    private static double Bilinear(double[] x, int h, int w, double r, double c)
    {
        int r0 = (int)Math.Floor(r), c0 = (int)Math.Floor(c);
        double fr = r - r0, fc = c - c0;
        double At(int rr, int cc) => rr >= 0 && rr < h && cc >= 0 && cc < w ? x[rr * w + cc] : 0;
        return (1 - fr) * ((1 - fc) * At(r0, c0) + fc * At(r0, c0 + 1)) + fr * ((1 - fc) * At(r0 + 1, c0) + fc * At(r0 + 1, c0 + 1));
    }

    /// <summary>Weights of an anti-aliased disk of <paramref name="radius"/>: each cell's share of area inside, by 8 × 8 supersampling.</summary>
    private static double[,] DiskKernel(double radius)
    {
        int half = (int)Math.Ceiling(radius);
        var k = new double[2 * half + 1, 2 * half + 1];
        double total = 0;
        for (int i = -half; i <= half; i++)
            for (int j = -half; j <= half; j++)
            {
                int inside = 0;
                for (int a = 0; a < 8; a++)
                    for (int b = 0; b < 8; b++)
                    {
                        double dy = i - 0.5 + (a + 0.5) / 8, dx = j - 0.5 + (b + 0.5) / 8;
                        if (dx * dx + dy * dy <= radius * radius) inside++;
                    }
                k[i + half, j + half] = inside / 64.0;
                total += inside / 64.0;
            }
        for (int i = 0; i < k.GetLength(0); i++)
            for (int j = 0; j < k.GetLength(1); j++) k[i, j] /= total;
        return k;
    }

    /// <summary>Convolution with zero padding.</summary>
    private static double[] Convolve(double[] x, int h, int w, double[,] kernel)
    {
        int half = kernel.GetLength(0) / 2;
        var y = new double[h * w];
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
            {
                double sum = 0;
                for (int i = -half; i <= half; i++)
                    for (int j = -half; j <= half; j++)
                    {
                        int rr = r + i, cc = c + j;
                        if (rr >= 0 && rr < h && cc >= 0 && cc < w) sum += kernel[i + half, j + half] * x[rr * w + cc];
                    }
                y[r * w + c] = sum;
            }
        return y;
    }

    private static double[] GaussianBlur(double[] x, int h, int w, double sigma)
    {
        int half = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var kernel = new double[2 * half + 1, 2 * half + 1];
        double total = 0;
        for (int i = -half; i <= half; i++)
            for (int j = -half; j <= half; j++)
                total += kernel[i + half, j + half] = Math.Exp(-(i * i + j * j) / (2 * sigma * sigma));
        for (int i = 0; i <= 2 * half; i++)
            for (int j = 0; j <= 2 * half; j++) kernel[i, j] /= total;
        return Convolve(x, h, w, kernel);
    }

    /// <summary>A displacement field: uniform noise smoothed with σ 3, scaled so that its largest magnitude is <paramref name="scale"/> pixels.</summary>
    private static double[] SmoothField(int h, int w, Random random, double scale)
    {
        var field = new double[h * w];
        for (int p = 0; p < field.Length; p++) field[p] = random.NextDouble() * 2 - 1;
        field = GaussianBlur(field, h, w, 3);
        double max = field.Max(Math.Abs);
        if (max <= 0) return field;
        for (int p = 0; p < field.Length; p++) field[p] *= scale / max;
        return field;
    }

    /// <summary>A plasma fractal (diamond–square, roughness 0.6) on the next power of two, cropped and scaled to [0, 1].</summary>
    private static double[] Plasma(int h, int w, Random random)
    {
        int size = 1;
        while (size < Math.Max(h, w)) size *= 2;
        var m = new double[size + 1, size + 1];
        double amplitude = 1;
        for (int step = size; step > 1; step /= 2, amplitude *= 0.6)
        {
            int half = step / 2;
            for (int r = half; r < size; r += step)
                for (int c = half; c < size; c += step)
                    m[r, c] = (m[r - half, c - half] + m[r - half, c + half] + m[r + half, c - half] + m[r + half, c + half]) / 4
                        + amplitude * (random.NextDouble() - 0.5);
            for (int r = 0; r <= size; r += half)
                for (int c = (r / half) % 2 == 0 ? half : 0; c <= size; c += step)
                {
                    double sum = 0;
                    int count = 0;
                    if (r >= half) { sum += m[r - half, c]; count++; }
                    if (r + half <= size) { sum += m[r + half, c]; count++; }
                    if (c >= half) { sum += m[r, c - half]; count++; }
                    if (c + half <= size) { sum += m[r, c + half]; count++; }
                    m[r, c] = sum / count + amplitude * (random.NextDouble() - 0.5);
                }
        }
        var y = new double[h * w];
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) y[r * w + c] = m[r, c];
        double min = y.Min(), max = y.Max();
        for (int p = 0; p < y.Length; p++) y[p] = max > min ? (y[p] - min) / (max - min) : 0;
        return y;
    }
}
