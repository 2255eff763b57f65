using System;
using System.IO;
using System.Runtime.InteropServices;
using Fssd.Engine.Runtime;
using SkiaSharp;

namespace Fssd.Engine.Data;

/// <summary>Decoded pixels: height × width × channels bytes, channels last.</summary>
public readonly record struct RawImage(byte[] Pixels, int Height, int Width, int Channels);

/// <summary>
/// Decodes PNG, JPEG, BMP, GIF (first frame) and WebP with SkiaSharp into gray or RGB bytes.
/// Gray is computed as ITU-R 601-2 luma with the integer weights PIL uses for convert("L"), so a
/// gray PNG decodes to exactly its own bytes. Alpha is ignored (pixels are taken as opaque).
/// </summary>
public static class ImageDecoder
{
    /// <summary>Decodes a file; a file that is not a decodable image is an <see cref="FssdDataException"/> naming it.</summary>
    public static RawImage Decode(string path, int channels)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdDataException($"'{path}' cannot be read: {e.Message}", e);
        }
        return Decode(bytes, channels, path);
    }

    /// <param name="channels">1 (gray), 3 (RGB), or 0: gray when the file is gray, RGB otherwise.</param>
    public static RawImage Decode(byte[] bytes, int channels, string name)
    {
        if (channels is not (0 or 1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "0 (as stored), 1 (gray) or 3 (RGB)");
        NativeRuntime.EnsureImagingLoaded();
        if (bytes.Length == 0) throw new FssdDataException($"'{name}' is empty, not an image.");
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var created);
        if (codec is null)
            throw new FssdDataException($"'{name}' is not an image this module decodes (PNG, JPEG, BMP, GIF, WebP): {Describe(created)}.");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0) throw new FssdDataException($"'{name}' has no pixels ({width}x{height}).");
        if (channels == 0) channels = codec.Info.ColorType == SKColorType.Gray8 ? 1 : 3;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(info, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
        if (result != SKCodecResult.Success)
            throw new FssdDataException($"'{name}' could not be decoded: {Describe(result)}.");
        return new RawImage(Convert(rgba, width * height, channels), height, width, channels);
    }

    private static byte[] Convert(byte[] rgba, int pixels, int channels)
    {
        var output = new byte[pixels * channels];
        if (channels == 1)
        {
            for (int i = 0; i < pixels; i++)
            {
                output[i] = Luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
            }
        }
        else
        {
            for (int i = 0; i < pixels; i++)
            {
                output[3 * i] = rgba[4 * i];
                output[3 * i + 1] = rgba[4 * i + 1];
                output[3 * i + 2] = rgba[4 * i + 2];
            }
        }
        return output;
    }

    /// <summary>ITU-R 601-2 luma in 16-bit fixed point, as PIL's convert("L") computes it.</summary>
    internal static byte Luma(int r, int g, int b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput => "the file is corrupt",
        SKCodecResult.InvalidInput => "the format is not recognised",
        SKCodecResult.Unimplemented => "this variant of the format is not supported",
        _ => result.ToString(),
    };
}

/// <summary>Bilinear resizing of channels-last bytes.</summary>
public static class ImageResize
{
    /// <summary>
    /// Bilinear interpolation with half-pixel centres and no antialiasing — what
    /// torch.nn.functional.interpolate(mode="bilinear", align_corners=False) computes — rounded to bytes.
    /// Returns the input unchanged when the size already matches.
    /// </summary>
    public static RawImage Bilinear(RawImage image, int height, int width)
    {
        if (image.Height == height && image.Width == width) return image;
        int c = image.Channels, inH = image.Height, inW = image.Width;
        var src = image.Pixels;
        var dst = new byte[height * width * c];
        double scaleY = (double)inH / height, scaleX = (double)inW / width;
        for (int y = 0; y < height; y++)
        {
            double sy = Math.Max((y + 0.5) * scaleY - 0.5, 0);
            int y0 = Math.Min((int)sy, inH - 1), y1 = Math.Min(y0 + 1, inH - 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++)
            {
                double sx = Math.Max((x + 0.5) * scaleX - 0.5, 0);
                int x0 = Math.Min((int)sx, inW - 1), x1 = Math.Min(x0 + 1, inW - 1);
                double fx = sx - x0;
                for (int k = 0; k < c; k++)
                {
                    double top = src[(y0 * inW + x0) * c + k] * (1 - fx) + src[(y0 * inW + x1) * c + k] * fx;
                    double bottom = src[(y1 * inW + x0) * c + k] * (1 - fx) + src[(y1 * inW + x1) * c + k] * fx;
                    double v = top * (1 - fy) + bottom * fy;
                    dst[(y * width + x) * c + k] = (byte)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);
                }
            }
        }
        return new RawImage(dst, height, width, c);
    }
}

/// <summary>Writes pixels as PNG (gray or RGB, 8 bits per channel), atomically.</summary>
public static class PngWriter
{
    public static void Write(string path, byte[] pixels, int height, int width, int channels)
    {
        if (pixels.Length != height * width * channels)
            throw new ArgumentException($"{pixels.Length} bytes do not make a {height}x{width}x{channels} image.", nameof(pixels));
        NativeRuntime.EnsureImagingLoaded();
        SKImageInfo info;
        byte[] buffer;
        if (channels == 1)
        {
            info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
            buffer = pixels;
        }
        else
        {
            info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            buffer = new byte[width * height * 4];
            for (int i = 0; i < width * height; i++)
            {
                buffer[4 * i] = pixels[3 * i];
                buffer[4 * i + 1] = pixels[3 * i + 1];
                buffer[4 * i + 2] = pixels[3 * i + 2];
                buffer[4 * i + 3] = 255;
            }
        }
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var encoded = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new FssdDataException($"The PNG for '{path}' could not be encoded.");
            string temp = path + ".tmp";
            using (var stream = File.Create(temp)) encoded.SaveTo(stream);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            handle.Free();
        }
    }
}
