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
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"{height}x{width} is not a size.");
        int c = image.Channels;
        var columns = Weights(image.Width, width);
        var rows = Weights(image.Height, height);
        // Horizontal pass into doubles (no rounding between the passes), then vertical.
        var across = new double[(long)image.Height * width * c];
        var src = image.Pixels;
        for (int y = 0; y < image.Height; y++)
        {
            long rowIn = (long)y * image.Width * c, rowOut = (long)y * width * c;
            for (int x = 0; x < width; x++)
            {
                var (first, taps) = columns[x];
                for (int k = 0; k < c; k++)
                {
                    double sum = 0;
                    for (int t = 0; t < taps.Length; t++) sum += taps[t] * src[rowIn + (long)(first + t) * c + k];
                    across[rowOut + (long)x * c + k] = sum;
                }
            }
        }
        var dst = new byte[(long)height * width * c];
        for (int y = 0; y < height; y++)
        {
            var (first, taps) = rows[y];
            for (int x = 0; x < width * c; x++)
            {
                double sum = 0;
                for (int t = 0; t < taps.Length; t++) sum += taps[t] * across[(long)(first + t) * width * c + x];
                dst[(long)y * width * c + x] = (byte)Math.Clamp(Math.Round(sum, MidpointRounding.AwayFromZero), 0, 255);
            }
        }
        return new RawImage(dst, height, width, c);
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
