using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Data;

namespace Fssd.Engine.Calibration;

/// <summary>Makes pseudo-outliers from decoded in-distribution inputs (channels first, 0..255), seeded.</summary>
public static class PseudoOutliers
{
    public static IReadOnlyList<PseudoOutlierKind> AllKinds { get; } = Enum.GetValues<PseudoOutlierKind>();

    /// <summary>
    /// The outlier-free calibration's stand-ins for OoD data: patch shuffles at three cell sizes. They keep
    /// the pixel histogram and, inside a cell, the strokes and textures of the in-distribution images, and
    /// break only the global layout — what sets an unseen kind of image apart from the training classes.
    /// Chosen on a design set that is neither the in-distribution data nor MNIST (docs/benchmarks.md, "Calibrations of FSSD-Ensem").
    /// </summary>
    public static IReadOnlyList<PseudoOutlierKind> DefaultKinds { get; } =
        new[] { PseudoOutlierKind.PatchShuffle2, PseudoOutlierKind.PatchShuffle4, PseudoOutlierKind.PatchShuffle7 };

    public static List<byte[]> Make(IReadOnlyList<byte[]> inputs, PseudoOutlierKind kind, int channels, int height, int width, long seed)
    {
        var random = Shuffle.Generator(seed * 31 + (int)kind);
        return inputs.Select(x => Transform(x, kind, channels, height, width, random)).ToList();
    }

    /// <summary>
    /// One pseudo-outlier per input, made from it: input i gets the kind <c>Kinds[i]</c>, the kinds dealt out
    /// in equal shares (to within one) in a seeded order.
    /// </summary>
    public static (List<byte[]> Images, PseudoOutlierKind[] Kinds) MakeMixture(IReadOnlyList<byte[]> inputs, IReadOnlyList<PseudoOutlierKind> kinds,
        int channels, int height, int width, long seed)
    {
        if (kinds.Count == 0) throw new ArgumentException("No kind of pseudo-outlier to make.", nameof(kinds));
        var random = Shuffle.Generator(seed * 37 + 11);
        var dealt = Shuffle.Permutation(inputs.Count, random).Select(i => kinds[i % kinds.Count]).ToArray();
        var images = inputs.Select((x, i) => Transform(x, dealt[i], channels, height, width, random)).ToList();
        return (images, dealt);
    }

    private static byte[] Transform(byte[] x, PseudoOutlierKind kind, int c, int h, int w, Random random)
    {
        int hw = h * w;
        var y = new byte[x.Length];
        switch (kind)
        {
            case PseudoOutlierKind.PixelShuffle:
            {
                var order = Shuffle.Permutation(hw, random);
                for (int k = 0; k < c; k++)
                    for (int p = 0; p < hw; p++)
                        y[k * hw + p] = x[k * hw + order[p]];
                break;
            }
            case PseudoOutlierKind.PatchShuffle2:
            case PseudoOutlierKind.PatchShuffle4:
            case PseudoOutlierKind.PatchShuffle7:
            {
                // Where the side is not a multiple of the grid, the last rows and columns stay in place.
                int grid = kind switch { PseudoOutlierKind.PatchShuffle2 => 2, PseudoOutlierKind.PatchShuffle4 => 4, _ => 7 };
                if (h < grid || w < grid) { Array.Copy(x, y, x.Length); break; }
                int ph = h / grid, pw = w / grid;
                var order = Shuffle.Permutation(grid * grid, random);
                Array.Copy(x, y, x.Length);
                for (int target = 0; target < grid * grid; target++)
                {
                    int source = order[target];
                    int ty = target / grid * ph, tx = target % grid * pw, sy = source / grid * ph, sx = source % grid * pw;
                    for (int k = 0; k < c; k++)
                        for (int dy = 0; dy < ph; dy++)
                            for (int dx = 0; dx < pw; dx++)
                                y[k * hw + (ty + dy) * w + tx + dx] = x[k * hw + (sy + dy) * w + sx + dx];
                }
                break;
            }
            case PseudoOutlierKind.Invert:
                for (int i = 0; i < x.Length; i++) y[i] = (byte)(255 - x[i]);
                break;
            case PseudoOutlierKind.UniformNoise:
                random.NextBytes(y);
                break;
            case PseudoOutlierKind.Blur:
            {
                const int r = 2;
                for (int k = 0; k < c; k++)
                    for (int py = 0; py < h; py++)
                        for (int px = 0; px < w; px++)
                        {
                            int sum = 0, n = 0;
                            for (int dy = -r; dy <= r; dy++)
                                for (int dx = -r; dx <= r; dx++)
                                {
                                    int yy = py + dy, xx = px + dx;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    sum += x[k * hw + yy * w + xx];
                                    n++;
                                }
                            y[k * hw + py * w + px] = (byte)((sum + n / 2) / n);
                        }
                break;
            }
        }
        return y;
    }
}
