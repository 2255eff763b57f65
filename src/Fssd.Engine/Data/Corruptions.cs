using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>The test-time corruptions of the paper's robustness experiment.</summary>
public enum CorruptionKind
{
    /// <summary>Additive Gaussian noise on [0, 1] pixels, clipped.</summary>
    GaussianNoise,

    /// <summary>Salt-and-pepper noise: a share of pixels set to black or white.</summary>
    ImpulseNoise,
}

/// <summary>
/// Gaussian and impulse noise at five levels, with the severities of ImageNet-C / CIFAR-10-C
/// (Hendrycks and Dietterich, 2019): Gaussian σ 0.08, 0.12, 0.18, 0.26, 0.38; impulse amount 0.03,
/// 0.06, 0.09, 0.17, 0.27. Seeded per image, so a corrupted set is reproducible.
/// </summary>
public static class Corruptions
{
    public static IReadOnlyList<double> GaussianSigmas { get; } = new[] { 0.08, 0.12, 0.18, 0.26, 0.38 };
    public static IReadOnlyList<double> ImpulseAmounts { get; } = new[] { 0.03, 0.06, 0.09, 0.17, 0.27 };

    /// <summary>The severity parameter of a level (1 to 5).</summary>
    public static double Severity(CorruptionKind kind, int level)
    {
        if (level is < 1 or > 5) throw new ArgumentOutOfRangeException(nameof(level), level, "Corruption levels are 1 to 5.");
        return kind == CorruptionKind.GaussianNoise ? GaussianSigmas[level - 1] : ImpulseAmounts[level - 1];
    }

    /// <summary>Corrupts decoded inputs (bytes 0..255); image i draws from a stream seeded by (seed, kind, level, i).</summary>
    public static List<byte[]> Apply(IReadOnlyList<byte[]> inputs, CorruptionKind kind, int level, long seed)
    {
        double severity = Severity(kind, level);
        return inputs.Select((x, i) =>
        {
            ulong state = unchecked((ulong)seed * 1_000_003UL + (ulong)kind * 101UL + (ulong)level * 10_007UL + (ulong)i);
            var random = new Random(unchecked((int)SplitMix64.Next(ref state)));
            var y = new byte[x.Length];
            for (int p = 0; p < x.Length; p++)
            {
                if (kind == CorruptionKind.GaussianNoise)
                {
                    // Box–Muller.
                    double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                    double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                    double v = Math.Clamp(x[p] / 255.0 + severity * z, 0, 1);
                    y[p] = (byte)Math.Round(v * 255);
                }
                else
                {
                    double u = random.NextDouble();
                    y[p] = u < severity / 2 ? (byte)0 : u < severity ? (byte)255 : x[p];
                }
            }
            return y;
        }).ToList();
    }
}
