using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SkiaSharp;

namespace Fssd.Engine.Data;

/// <summary>A font face the Kana dataset is drawn with: the Debian package it comes from and the file's SHA-256 there.</summary>
public sealed record KanaFont(string Package, string RelativePath, int FaceIndex, string Sha256)
{
    public string FileName => Path.GetFileName(RelativePath);
}

/// <summary>
/// A KMNIST-like set rendered from Debian's Japanese fonts. KMNIST (Clanuwat et al., 2018) holds
/// handwritten cursive forms of ten hiragana; it cannot be downloaded here, so this set draws the same
/// ten characters, printed, in seven faces (IPA Gothic and Mincho, VL Gothic, Noto Sans and Serif CJK in
/// regular and bold), with random size, rotation, shear, offset and stroke weight, white on black,
/// drawn at 112 × 112 and averaged down to 28 × 28 as KMNIST is stored. It stands in for KMNIST as the
/// paper uses it (an auxiliary outlier set) and as a second out-of-distribution set; it is printed
/// type, not handwriting, and every report that uses it says so.
/// </summary>
public static class KanaDataset
{
    /// <summary>KMNIST's ten classes, in its label order.</summary>
    public static IReadOnlyList<string> Classes { get; } = new[] { "o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo" };

    /// <summary>The characters of <see cref="Classes"/>.</summary>
    public const string Characters = "おきすつなはまやれを";

    public const int TrainPerClass = 2000;
    public const int TestPerClass = 1000;
    public const ulong TrainSeed = 20261204;
    public const ulong TestSeed = 20261205;

    private const int Side = 28;
    private const int Scale = 4;
    private const int Canvas = Side * Scale;

    /// <summary>The faces, as Debian 12 ships them.</summary>
    public static IReadOnlyList<KanaFont> Fonts { get; } = new KanaFont[]
    {
        new("fonts-ipafont-gothic", "usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0, "503af4a8b84d1079b8e2e358dc7f7a7fb8cb7a1f212f35eaef6782dbfc75a55e"),
        new("fonts-ipafont-mincho", "usr/share/fonts/opentype/ipafont-mincho/ipam.ttf", 0, "ab923870b9ea047179c14fa78eede8d3957b6bfed26577253b5f08f75c102a34"),
        new("fonts-vlgothic", "usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf", 0, "cccbbd1a228566007b2e1771bb7ebeda829cc106d4327a924b1c50a47245ea33"),
        new("fonts-noto-cjk", "usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0, "b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a"),
        new("fonts-noto-cjk", "usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 0, "faa5f3656a78b2e2d450d27fe8382c778bc2b6bb5ea29c986664a6a435056ceb"),
        new("fonts-noto-cjk", "usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 0, "a04178ec485dffdff7cc0c0c20e1fce9202d7e2160d805e8e44a4c8841c58481"),
        new("fonts-noto-cjk", "usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 0, "a5d4b046c127da3d7c72f98b46c41489cd29bf52abfdf18aba920903e920d4ac"),
    };

    /// <summary>
    /// Renders <paramref name="perClass"/> images of each class, class after class, in a fixed order;
    /// each image's variation comes from its own SplitMix64 stream, so the result does not depend on
    /// how many threads draw it.
    /// </summary>
    public static (List<byte[]> Images, List<byte> Labels) Render(IReadOnlyList<string> fontFiles, int perClass, ulong seed, CancellationToken cancellation)
    {
        if (fontFiles.Count != Fonts.Count) throw new ArgumentException($"Expected {Fonts.Count} font files.", nameof(fontFiles));
        Runtime.NativeRuntime.EnsureImagingLoaded();
        var typefaces = fontFiles.Select((f, i) => SKTypeface.FromFile(f, Fonts[i].FaceIndex)
            ?? throw new FssdDataException($"'{f}' could not be opened as a font.")).ToArray();
        try
        {
            foreach (var (face, file) in typefaces.Zip(fontFiles))
                foreach (char c in Characters)
                    if (face.GetGlyph(c) == 0) throw new FssdDataException($"The font '{file}' has no glyph for '{c}'.");
            int total = perClass * Classes.Count;
            var images = new byte[total][];
            Parallel.For(0, total, new ParallelOptions { CancellationToken = cancellation, MaxDegreeOfParallelism = Environment.ProcessorCount }, () =>
            {
                var bitmap = new SKBitmap(new SKImageInfo(Canvas, Canvas, SKColorType.Rgba8888, SKAlphaType.Premul));
                return (bitmap, canvas: new SKCanvas(bitmap));
            }, (i, _, state) =>
            {
                ulong start = seed + (ulong)i;
                images[i] = Draw(state.canvas, state.bitmap, typefaces, i / perClass, SplitMix64.Next(ref start));
                return state;
            }, state =>
            {
                state.canvas.Dispose();
                state.bitmap.Dispose();
            });
            var labels = Enumerable.Range(0, total).Select(i => (byte)(i / perClass)).ToList();
            return (images.ToList(), labels);
        }
        finally
        {
            foreach (var t in typefaces) t.Dispose();
        }
    }

    private static byte[] Draw(SKCanvas canvas, SKBitmap bitmap, SKTypeface[] typefaces, int label, ulong state)
    {
        double Uniform(double lo, double hi) => lo + (hi - lo) * (SplitMix64.Next(ref state) >> 11) * (1.0 / (1UL << 53));
        var typeface = typefaces[(int)(SplitMix64.Next(ref state) % (ulong)typefaces.Length)];
        float size = (float)(Canvas * Uniform(0.8, 1.05));
        float rotation = (float)Uniform(-15, 15);
        float shear = (float)Uniform(-0.25, 0.25);
        float dx = (float)Uniform(-2.5, 2.5) * Scale, dy = (float)Uniform(-2.5, 2.5) * Scale;
        float stroke = (float)Uniform(0, 1.6) * Scale;

        canvas.ResetMatrix();
        canvas.Clear(SKColors.Black);
        using var font = new SKFont(typeface, size) { Subpixel = true, Edging = SKFontEdging.Antialias };
        using var paint = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.StrokeAndFill, StrokeWidth = stroke, StrokeJoin = SKStrokeJoin.Round };
        string text = Characters[label].ToString();
        font.MeasureText(text, out var bounds, paint);
        canvas.Translate(Canvas / 2f + dx, Canvas / 2f + dy);
        canvas.RotateDegrees(rotation);
        canvas.Skew(shear, 0);
        canvas.DrawText(text, -bounds.MidX, -bounds.MidY, SKTextAlign.Left, font, paint);
        canvas.Flush();

        // Average each 4 × 4 block of the red channel (white on black: red = coverage).
        var pixels = bitmap.GetPixelSpan();
        var image = new byte[Side * Side];
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                int sum = 0;
                for (int by = 0; by < Scale; by++)
                    for (int bx = 0; bx < Scale; bx++)
                        sum += pixels[((y * Scale + by) * Canvas + x * Scale + bx) * 4];
                image[y * Side + x] = (byte)((sum + Scale * Scale / 2) / (Scale * Scale));
            }
        return image;
    }
}
