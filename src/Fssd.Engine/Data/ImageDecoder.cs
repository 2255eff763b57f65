using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using Fssd.Engine.Runtime;
using SkiaSharp;

namespace Fssd.Engine.Data;

/// <summary>Decoded pixels: height × width × channels bytes, channels last.</summary>
public readonly record struct RawImage(byte[] Pixels, int Height, int Width, int Channels, SourceImage? Original = null);

/// <summary>
/// What an input was before it was made to fit a model: its stored size, and whether it has colour (more than
/// 1% of its pixels with a channel 32 levels or more from another: a gray image saved as RGB or JPEG has none).
/// </summary>
public readonly record struct SourceImage(int Height, int Width, bool IsColour)
{
    /// <summary>The share of pixels that must be coloured for an image to count as colour.</summary>
    public const double ColourShare = 0.01;

    /// <summary>How far apart two channels of a pixel must be for it to count as coloured.</summary>
    public const int ColourSpread = 32;

    public static bool Coloured(byte r, byte g, byte b) =>
        Math.Abs(r - g) >= ColourSpread || Math.Abs(g - b) >= ColourSpread || Math.Abs(r - b) >= ColourSpread;

    /// <summary>Whether pixels of <paramref name="channels"/> (3 or 4, channels last) are a colour image.</summary>
    public static bool IsColourImage(ReadOnlySpan<byte> pixels, int channels)
    {
        if (channels < 3) return false;
        long count = pixels.Length / channels, coloured = 0;
        for (long i = 0; i < count; i++)
        {
            int at = (int)(i * channels);
            if (Coloured(pixels[at], pixels[at + 1], pixels[at + 2])) coloured++;
        }
        return count > 0 && coloured >= ColourShare * count;
    }

    public override string ToString() => $"{Width} x {Height} {(IsColour ? "colour" : "gray")}";
}

/// <summary>
/// Decodes PNG, JPEG, BMP, GIF (first frame), WebP and ICO with SkiaSharp into gray or RGB bytes, safely for
/// files nobody has looked at. The header is read first: a declared size above
/// <see cref="ImageLimits.MaxPixels"/> is refused before any pixel buffer exists, every size is computed in
/// 64 bits, and decodes that need a buffer of the whole frame reserve it from <see cref="DecodeMemory"/>, so
/// parallel decoding holds at most the decode memory limit however large the files claim to be. For a model
/// (<see cref="DecodeAt"/>), JPEG and WebP decode at a reduced scale — the smallest their codecs offer that
/// still covers the model's input — so time and memory follow what the model reads, not what the file
/// holds. Gray is ITU-R 601-2 luma with the integer weights PIL uses for convert("L"), so a gray PNG
/// decodes to exactly its own bytes. Alpha is ignored (pixels are taken as opaque). Every failure is an
/// <see cref="FssdDataException"/> that names the file.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Files up to this size are read into memory in one call; larger ones are streamed.</summary>
    private const long InMemoryBytes = 16L << 20;

    /// <summary>Decodes a file at its stored size (1 gray, 3 RGB, 0 as stored).</summary>
    public static RawImage Decode(string path, int channels, CancellationToken cancellation = default) =>
        DecodeFile(path, channels, null, ImageLimits.Current, cancellation);

    /// <summary>
    /// Decodes a file for a model: <paramref name="channels"/> (1 or 3) at exactly
    /// <paramref name="height"/> × <paramref name="width"/>, decoded at reduced scale where the format allows and
    /// resized (<see cref="ImageResize.Resize(RawImage, int, int)"/>).
    /// </summary>
    public static RawImage DecodeAt(string path, int channels, int height, int width, CancellationToken cancellation = default)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (gray) or 3 (RGB)");
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"{height}x{width} is not a size.");
        return DecodeFile(path, channels, (height, width), ImageLimits.Current, cancellation);
    }

    /// <summary>Decodes an image held in memory at its stored size; <paramref name="name"/> names it in errors.</summary>
    /// <param name="channels">1 (gray), 3 (RGB), or 0: gray when the file is gray, RGB otherwise.</param>
    public static RawImage Decode(byte[] bytes, int channels, string name, ImageLimits? limits = null, CancellationToken cancellation = default)
    {
        CheckChannels(channels);
        if (bytes.Length == 0) throw new FssdDataException($"'{name}' is empty, not an image.");
        return Guarded(name, () =>
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return DecodeStream(stream, bytes, name, channels, null, limits ?? ImageLimits.Current, cancellation);
        });
    }

    private static RawImage DecodeFile(string path, int channels, (int Height, int Width)? target, ImageLimits limits, CancellationToken cancellation)
    {
        CheckChannels(channels);
        return Guarded(path, () =>
        {
            if (Directory.Exists(path)) throw new FssdDataException($"'{path}' is a directory, not an image.");
            var info = new FileInfo(path);
            if (!info.Exists) throw new FssdDataException($"'{path}' does not exist.");
            // Pipes and devices report no length; opening one could wait forever for a writer.
            if (info.Length == 0) throw new FssdDataException($"'{path}' is empty or not a regular file (a pipe or a device): there is nothing to decode.");
            if (info.Length <= InMemoryBytes)
            {
                byte[] bytes = File.ReadAllBytes(path);
                if (bytes.Length == 0) throw new FssdDataException($"'{path}' is empty, not an image.");
                using var memory = new MemoryStream(bytes, writable: false);
                return DecodeStream(memory, bytes, path, channels, target, limits, cancellation);
            }
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
            return DecodeStream(file, null, path, channels, target, limits, cancellation);
        });
    }

    /// <summary>Runs a decode so that whatever goes wrong is that file's error, never the caller's crash.</summary>
    private static RawImage Guarded(string name, Func<RawImage> decode)
    {
        try
        {
            return decode();
        }
        catch (Exception e) when (e is FssdDataException or OperationCanceledException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdDataException($"'{name}' cannot be read: {e.Message}", e);
        }
        catch (Exception e)
        {
            throw new FssdDataException($"'{name}' could not be decoded: {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static RawImage DecodeStream(Stream stream, byte[]? bytes, string name, int channels, (int Height, int Width)? target,
        ImageLimits limits, CancellationToken cancellation)
    {
        NativeRuntime.EnsureImagingLoaded();
        Span<byte> head = stackalloc byte[16];
        int headLength = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var container = ImageFormatProbe.Container(head[..headLength]);
        long wholeImageBytes = container == ImageContainer.Jpeg ? ImageFormatProbe.JpegWholeImageBytes(stream) : 0;
        bool canvas = container == ImageContainer.WebP && ImageFormatProbe.WebPNeedsCanvas(stream);
        stream.Position = 0;

        using var skStream = bytes is not null ? (SKStream)new SKMemoryStream(bytes) : new SKManagedStream(stream, disposeManagedStream: false);
        using var codec = SKCodec.Create(skStream, out var created);
        if (codec is null)
            throw new FssdDataException($"'{name}' is not an image this module decodes (PNG, JPEG, BMP, GIF, WebP, ICO): {Describe(created)}.");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0) throw new FssdDataException($"'{name}' has no pixels ({width}x{height}).");
        long pixels = (long)width * height;
        if (pixels > limits.MaxPixels)
            throw new FssdDataException(
                $"'{name}' declares {width} x {height} pixels ({Megapixels(pixels)} megapixels), more than the limit of {Megapixels(limits.MaxPixels)} megapixels; " +
                "raise it with Set-FssdContext -MaxImagePixels if the file is trusted.");
        if (channels == 0) channels = codec.Info.ColorType == SKColorType.Gray8 ? 1 : 3;
        if (canvas) wholeImageBytes = pixels * 4;

        var size = target is { } t && container is ImageContainer.Jpeg or ImageContainer.WebP
            ? ReducedSize(codec, width, height, t.Height, t.Width)
            : new SKSizeI(width, height);
        long framePixels = (long)size.Width * size.Height, frameBytes = framePixels * 4;
        if (frameBytes > Array.MaxLength)
            throw new FssdDataException($"'{name}' is {width} x {height} pixels, too large to hold in one buffer at this scale.");
        // The frame lives in native memory, freed as soon as the pixels are out: what the budget admits is
        // what the process holds, whenever the garbage collector runs. A decode at the stored size also
        // returns the whole image as managed bytes.
        long resultBytes = target is null ? framePixels * channels : 0;
        using var reservation = DecodeMemory.Reserve(frameBytes + resultBytes + wholeImageBytes, name, limits, cancellation);
        cancellation.ThrowIfCancellationRequested();

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        unsafe
        {
            byte* frame = (byte*)NativeMemory.Alloc((nuint)frameBytes);
            try
            {
                // The buffer is exactly the rows Skia is told about: 4 bytes a pixel, no padding.
                var result = codec.GetPixels(info, (IntPtr)frame, size.Width * 4, SKCodecOptions.Default);
                if (result != SKCodecResult.Success)
                    throw new FssdDataException($"'{name}' could not be decoded: {Describe(result)}.");
                var decoded = new Span<byte>(frame, (int)frameBytes);
                long coloured = ToChannelsInPlace(decoded, framePixels, channels);
                var original = new SourceImage(height, width, coloured >= SourceImage.ColourShare * framePixels);
                var converted = decoded[..(int)(framePixels * channels)];
                return target is { } t2
                    ? new RawImage(ImageResize.Resize(converted, size.Height, size.Width, channels, t2.Height, t2.Width), t2.Height, t2.Width, channels, original)
                    : new RawImage(converted.ToArray(), size.Height, size.Width, channels, original);
            }
            finally
            {
                NativeMemory.Free(frame);
            }
        }
    }

    /// <summary>
    /// The smallest size the codec decodes to natively (JPEG's DCT scaling in eighths, WebP's rescaler)
    /// that still covers <paramref name="targetHeight"/> × <paramref name="targetWidth"/>; the stored size when
    /// the image is not larger than that.
    /// </summary>
    private static SKSizeI ReducedSize(SKCodec codec, int width, int height, int targetHeight, int targetWidth)
    {
        var full = new SKSizeI(width, height);
        double scale = Math.Max((double)targetWidth / width, (double)targetHeight / height);
        if (scale >= 1) return full;
        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
        {
            var best = full;
            for (int eighths = 1; eighths < 8; eighths++)
            {
                var d = codec.GetScaledDimensions(eighths / 8f);
                if (d.Width >= targetWidth && d.Height >= targetHeight && (long)d.Width * d.Height < (long)best.Width * best.Height) best = d;
            }
            return best;
        }
        // WebP scales to any size: the image's shape at the target's scale, rounded up.
        int w = (int)Math.Min(width, Math.Max(targetWidth, Math.Ceiling(width * scale)));
        int h = (int)Math.Min(height, Math.Max(targetHeight, Math.Ceiling(height * scale)));
        return new SKSizeI(w, h);
    }

    /// <summary>RGBA to gray or RGB, in place: each pixel's output lies at or before its input, so a forward pass is safe.</summary>
    /// <summary>RGBA to gray or RGB in place; returns how many pixels were coloured (<see cref="SourceImage.Coloured"/>).</summary>
    private static long ToChannelsInPlace(Span<byte> rgba, long pixels, int channels)
    {
        long coloured = 0;
        if (channels == 1)
        {
            for (int i = 0; i < pixels; i++)
            {
                byte r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
                if (SourceImage.Coloured(r, g, b)) coloured++;
                rgba[i] = Luma(r, g, b);
            }
            return coloured;
        }
        for (int i = 0; i < pixels; i++)
        {
            byte r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
            if (SourceImage.Coloured(r, g, b)) coloured++;
            rgba[3 * i] = r;
            rgba[3 * i + 1] = g;
            rgba[3 * i + 2] = b;
        }
        return coloured;
    }

    /// <summary>ITU-R 601-2 luma in 16-bit fixed point, as PIL's convert("L") computes it.</summary>
    internal static byte Luma(int r, int g, int b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    private static void CheckChannels(int channels)
    {
        if (channels is not (0 or 1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "0 (as stored), 1 (gray) or 3 (RGB)");
    }

    private static string Megapixels(long pixels) => (pixels / 1e6).ToString(pixels < 10_000_000 ? "0.##" : "0", System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput => "the file is corrupt",
        SKCodecResult.InvalidInput => "the format is not recognised",
        SKCodecResult.InvalidConversion => "its pixels cannot be converted to RGBA",
        SKCodecResult.InvalidScale => "it cannot be decoded at this scale",
        SKCodecResult.Unimplemented => "this variant of the format is not supported",
        _ => result.ToString(),
    };
}
