using System;

namespace Fssd.Engine.Data;

/// <summary>Resizing of channels-last bytes to the size a model reads.</summary>
public static class ImageResize
{
    /// <summary>
    /// Bilinear resizing with half-pixel centres, antialiased where it shrinks — what
    /// torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=True) computes, and
    /// PIL's BILINEAR resize — rounded to bytes. Enlarging is plain bilinear interpolation; shrinking widens
    /// the triangle filter by the scale, so every source pixel counts (plain bilinear would read 4 pixels of
    /// a 12-megapixel photo for each pixel of a 28 × 28 input). Returns the input when the size matches.
    /// </summary>
    public static RawImage Resize(RawImage image, int height, int width)
    {
        if (image.Height == height && image.Width == width) return image;
        return new RawImage(Resize(image.Pixels, image.Height, image.Width, image.Channels, height, width), height, width, image.Channels);
    }

    /// <summary>
    /// The same on pixels held anywhere (a decoder's native buffer). Source rows are resized across once, as
    /// the output rows first need them, and kept only while a later output row still reads them, so the
    /// working memory is a few rows of the output's width however tall the source is.
    /// </summary>
    public static byte[] Resize(ReadOnlySpan<byte> source, int inHeight, int inWidth, int channels, int height, int width)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"{height}x{width} is not a size.");
        if (source.Length != (long)inHeight * inWidth * channels)
            throw new ArgumentException($"{source.Length} bytes do not make a {inHeight}x{inWidth}x{channels} image.", nameof(source));
        var dst = new byte[(long)height * width * channels];
        if (inHeight == height && inWidth == width)
        {
            source.CopyTo(dst);
            return dst;
        }
        var columns = Weights(inWidth, width);
        var rows = Weights(inHeight, height);
        int rowLength = width * channels, maxTaps = 1;
        foreach (var (_, taps) in rows) maxTaps = Math.Max(maxTaps, taps.Length);
        // Output rows read source rows in a window that only moves down: a ring of the last rows suffices.
        int ringSize = maxTaps + 1;
        var ring = new double[ringSize][];
        var ringRow = new int[ringSize];
        for (int r = 0; r < ringSize; r++)
        {
            ring[r] = new double[rowLength];
            ringRow[r] = -1;
        }
        for (int y = 0; y < height; y++)
        {
            var (first, taps) = rows[y];
            long o = (long)y * rowLength;
            for (int t = 0; t < taps.Length; t++)
            {
                int sy = first + t;
                if (ringRow[sy % ringSize] == sy) continue;
                Across(source.Slice((int)((long)sy * inWidth * channels), inWidth * channels), columns, channels, ring[sy % ringSize]);
                ringRow[sy % ringSize] = sy;
            }
            for (int x = 0; x < rowLength; x++)
            {
                double sum = 0;
                for (int t = 0; t < taps.Length; t++) sum += taps[t] * ring[(first + t) % ringSize][x];
                dst[o + x] = (byte)Math.Clamp(Math.Round(sum, MidpointRounding.AwayFromZero), 0, 255);
            }
        }
        return dst;
    }

    /// <summary>One source row resized across into <paramref name="output"/> (no rounding between the passes).</summary>
    private static void Across(ReadOnlySpan<byte> row, (int First, double[] Taps)[] columns, int channels, double[] output)
    {
        for (int x = 0; x < columns.Length; x++)
        {
            var (first, taps) = columns[x];
            for (int k = 0; k < channels; k++)
            {
                double sum = 0;
                for (int t = 0; t < taps.Length; t++) sum += taps[t] * row[(first + t) * channels + k];
                output[x * channels + k] = sum;
            }
        }
    }

    /// <summary>For each output position along one axis: the first source index and the weights from there.</summary>
    private static (int First, double[] Taps)[] Weights(int inSize, int outSize)
    {
        var result = new (int, double[])[outSize];
        double scale = (double)inSize / outSize;
        if (scale <= 1)
        {
            // Enlarging (or the same size): the two neighbours of the source position, clamped at the edges.
            for (int i = 0; i < outSize; i++)
            {
                double s = Math.Max((i + 0.5) * scale - 0.5, 0);
                int i0 = Math.Min((int)s, inSize - 1), i1 = Math.Min(i0 + 1, inSize - 1);
                double f = s - i0;
                result[i] = i1 == i0 ? (i0, new[] { 1.0 }) : (i0, new[] { 1 - f, f });
            }
            return result;
        }
        // Shrinking: a triangle filter of half-width `scale` around the output pixel's centre, normalised
        // over the source pixels inside the image.
        for (int i = 0; i < outSize; i++)
        {
            double centre = (i + 0.5) * scale;
            int first = Math.Max((int)Math.Floor(centre - scale + 0.5), 0);
            int last = Math.Min((int)Math.Floor(centre + scale + 0.5), inSize);
            var taps = new double[Math.Max(last - first, 1)];
            double total = 0;
            for (int j = 0; j < taps.Length; j++)
            {
                double w = 1 - Math.Abs((first + j + 0.5 - centre) / scale);
                taps[j] = w > 0 ? w : 0;
                total += taps[j];
            }
            if (total > 0) for (int j = 0; j < taps.Length; j++) taps[j] /= total;
            result[i] = (first, taps);
        }
        return result;
    }
}
