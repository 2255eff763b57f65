using System;
using System.Runtime.InteropServices;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using SkiaSharp;

namespace Fssd.Engine.Data;

/// <summary>Writes pixels as PNG (gray or RGB, 8 bits per channel), atomically.</summary>
public static class PngWriter
{
    public static void Write(string path, byte[] pixels, int height, int width, int channels) =>
        ImageEncoding.Write(path, pixels, height, width, channels, SKEncodedImageFormat.Png, 100);
}

/// <summary>Writes RGB or gray pixels as a baseline JPEG, atomically (test images, benchmark photos).</summary>
public static class JpegWriter
{
    public static void Write(string path, byte[] pixels, int height, int width, int channels = 3, int quality = 90) =>
        ImageEncoding.Write(path, pixels, height, width, channels, SKEncodedImageFormat.Jpeg, quality);
}

internal static class ImageEncoding
{
    internal static void Write(string path, byte[] pixels, int height, int width, int channels, SKEncodedImageFormat format, int quality)
    {
        if (channels is not (1 or 3) || height < 1 || width < 1 || pixels.Length != (long)height * width * channels)
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
            buffer = new byte[(long)width * height * 4];
            for (long i = 0; i < (long)width * height; i++)
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
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), width * (channels == 1 ? 1 : 4));
            using var encoded = pixmap.Encode(format, quality)
                ?? throw new FssdDataException($"The {format} image for '{path}' could not be encoded.");
            AtomicFile.Write(path, stream => encoded.SaveTo(stream));
        }
        finally
        {
            handle.Free();
        }
    }
}
