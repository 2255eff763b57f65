using System;
using System.IO;

namespace Fssd.Engine.Data;

/// <summary>The container an image file uses, read off its first bytes.</summary>
public enum ImageContainer
{
    Unknown,
    Png,
    Jpeg,
    Gif,
    Bmp,
    WebP,
    Ico,
}

/// <summary>
/// What the decoder needs to know before it commits memory: the container, and for the formats whose
/// decoders hold a whole-image buffer of their own (progressive JPEG's coefficients, lossless or
/// animated WebP's ARGB canvas) whether this file is one of those. Reads headers only, never pixels;
/// a header it cannot parse is reported as the plain variant and left to the codec to refuse.
/// </summary>
public static class ImageFormatProbe
{
    /// <summary>The container of a file whose first bytes are <paramref name="head"/>.</summary>
    public static ImageContainer Container(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 8 && head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') return ImageContainer.Png;
        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return ImageContainer.Jpeg;
        if (head.Length >= 4 && head[0] == 'G' && head[1] == 'I' && head[2] == 'F' && head[3] == '8') return ImageContainer.Gif;
        if (head.Length >= 2 && head[0] == 'B' && head[1] == 'M') return ImageContainer.Bmp;
        if (head.Length >= 12 && head[0] == 'R' && head[1] == 'I' && head[2] == 'F' && head[3] == 'F'
            && head[8] == 'W' && head[9] == 'E' && head[10] == 'B' && head[11] == 'P') return ImageContainer.WebP;
        if (head.Length >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 1 && head[3] == 0) return ImageContainer.Ico;
        return ImageContainer.Unknown;
    }

    /// <summary>
    /// Bytes a progressive JPEG's decoder keeps for the whole image (its DCT coefficients, two bytes each,
    /// per component at its sampling), or 0 for a baseline JPEG, whose decoder works a band of rows at a time.
    /// </summary>
    public static long JpegWholeImageBytes(Stream stream)
    {
        var sof = FindJpegFrame(stream);
        if (sof is null || !sof.Value.Progressive) return 0;
        var f = sof.Value;
        int hMax = 1, vMax = 1;
        foreach (var (h, v) in f.Sampling)
        {
            hMax = Math.Max(hMax, h);
            vMax = Math.Max(vMax, v);
        }
        long total = 0;
        foreach (var (h, v) in f.Sampling)
        {
            long width = (f.Width * (long)h + hMax - 1) / hMax, height = (f.Height * (long)v + vMax - 1) / vMax;
            // Each 8×8 block holds 64 coefficients of two bytes; the decoder pads to whole blocks.
            total += (width + 7) / 8 * ((height + 7) / 8) * 64 * 2;
        }
        return total;
    }

    /// <summary>Whether a WebP file's decoder holds a full ARGB canvas (lossless or animated images).</summary>
    public static bool WebPNeedsCanvas(Stream stream)
    {
        Span<byte> chunk = stackalloc byte[8];
        stream.Position = 12;
        // The first chunk says which bitstream follows: "VP8 " (lossy), "VP8L" (lossless) or "VP8X" (extended).
        if (Read(stream, chunk) < 8 || chunk[0] != 'V' || chunk[1] != 'P' || chunk[2] != '8') return false;
        // An extended file may hold a lossless image, alpha or an animation, each decoded through a canvas.
        return chunk[3] is (byte)'L' or (byte)'X';
    }

    private readonly record struct JpegFrame(bool Progressive, int Width, int Height, (int H, int V)[] Sampling);

    /// <summary>The first start-of-frame segment, walking the segments from the start of the file.</summary>
    private static JpegFrame? FindJpegFrame(Stream stream)
    {
        stream.Position = 2;
        Span<byte> marker = stackalloc byte[4];
        // A bounded walk: a crafted file with thousands of tiny segments gives up, it does not spin.
        for (int segments = 0; segments < 4096; segments++)
        {
            if (Read(stream, marker[..2]) < 2) return null;
            if (marker[0] != 0xFF) return null;
            byte code = marker[1];
            if (code == 0xFF)
            {
                // Fill bytes before a marker.
                stream.Position -= 1;
                continue;
            }
            if (code is 0x01 or (>= 0xD0 and <= 0xD8)) continue;
            if (code is 0xD9 or 0xDA) return null;
            if (Read(stream, marker[2..4]) < 2) return null;
            int length = (marker[2] << 8) | marker[3];
            if (length < 2) return null;
            bool sof = code is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (!sof)
            {
                stream.Position += length - 2;
                continue;
            }
            var body = new byte[length - 2];
            if (Read(stream, body) < body.Length || body.Length < 6) return null;
            int height = (body[1] << 8) | body[2], width = (body[3] << 8) | body[4], components = body[5];
            if (components < 1 || body.Length < 6 + 3 * components) return null;
            var sampling = new (int, int)[components];
            for (int c = 0; c < components; c++)
            {
                byte hv = body[6 + 3 * c + 1];
                sampling[c] = (Math.Max(1, hv >> 4), Math.Max(1, hv & 0x0F));
            }
            bool progressive = code is 0xC2 or 0xC6 or 0xCA or 0xCE;
            return new JpegFrame(progressive, width, height, sampling);
        }
        return null;
    }

    private static int Read(Stream stream, Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
}
