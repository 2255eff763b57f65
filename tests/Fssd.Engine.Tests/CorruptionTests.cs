using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Data;
using Xunit;

namespace Fssd.Engine.Tests;

public class CorruptionTests
{
    public static IEnumerable<object[]> Kinds => Enum.GetValues<CorruptionKind>().Select(k => new object[] { k });

    /// <summary>
    /// FashionMNIST-like images: a textured ellipse of varying size, place and brightness on black,
    /// with a darker band across it.
    /// </summary>
    private static List<byte[]> Garments(int count, int channels = 1)
    {
        var random = new Random(7);
        var images = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            double cy = 13.5 + random.NextDouble() * 4 - 2, cx = 13.5 + random.NextDouble() * 4 - 2;
            double ry = 7 + random.NextDouble() * 5, rx = 5 + random.NextDouble() * 6, bright = 150 + random.NextDouble() * 100;
            var image = new byte[channels * 28 * 28];
            for (int c = 0; c < channels; c++)
                for (int r = 0; r < 28; r++)
                    for (int col = 0; col < 28; col++)
                    {
                        double d = (r - cy) * (r - cy) / (ry * ry) + (col - cx) * (col - cx) / (rx * rx);
                        if (d > 1) continue;
                        double v = bright * (0.8 + 0.2 * Math.Sin(col * 1.3 + r * 0.7 + c)) * (Math.Abs(r - cy) < 1.5 ? 0.5 : 1);
                        image[c * 784 + r * 28 + col] = (byte)Math.Clamp(v, 0, 255);
                    }
            images.Add(image);
        }
        return images;
    }

    private static double MeanDifference(IReadOnlyList<byte[]> a, IReadOnlyList<byte[]> b) =>
        a.Zip(b).Average(p => p.First.Zip(p.Second).Average(q => Math.Abs(q.First - q.Second)));

    [Fact]
    public void There_are_at_least_fifteen_kinds_each_with_five_levels_defined_once()
    {
        var kinds = Enum.GetValues<CorruptionKind>();
        Assert.True(kinds.Length >= 15);
        Assert.Equal(kinds.OrderBy(k => k), Corruptions.Definitions.Select(d => d.Kind).OrderBy(k => k));
        foreach (var d in Corruptions.Definitions)
        {
            Assert.Equal(5, d.Levels.Count);
            Assert.Equal(d.Levels.Distinct().Count(), d.Levels.Count);
            for (int level = 1; level <= 5; level++) Assert.Equal(d.Levels[level - 1], Corruptions.Severity(d.Kind, level));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Corruptions.Severity(CorruptionKind.Fog, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Corruptions.Severity(CorruptionKind.Fog, 6));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Is_the_same_for_the_same_seed_and_differs_for_another(CorruptionKind kind)
    {
        var clean = Garments(6);
        var a = Corruptions.Apply(clean, kind, 3, 42);
        var b = Corruptions.Apply(clean, kind, 3, 42);
        Assert.Equal(a, b);
        bool random = kind is not (CorruptionKind.DefocusBlur or CorruptionKind.ZoomBlur or CorruptionKind.Brightness or CorruptionKind.Contrast
            or CorruptionKind.Pixelate or CorruptionKind.Jpeg or CorruptionKind.Scale or CorruptionKind.Edges);
        var other = Corruptions.Apply(clean, kind, 3, 43);
        if (random) Assert.NotEqual(a, other);
        else Assert.Equal(a, other);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Keeps_the_shape_and_leaves_the_input_alone(CorruptionKind kind)
    {
        foreach (int channels in new[] { 1, 3 })
        {
            var clean = Garments(3, channels);
            var copy = clean.Select(x => x.ToArray()).ToList();
            var corrupted = Corruptions.Apply(clean, kind, 5, 1);
            Assert.Equal(clean.Count, corrupted.Count);
            Assert.All(corrupted, y => Assert.Equal(channels * 784, y.Length));
            Assert.Equal(copy, clean);
        }
        // Bytes keep their range by type; a whole-image flat grey stays in range too.
        var grey = new List<byte[]> { Enumerable.Repeat((byte)255, 784).ToArray(), new byte[784] };
        Assert.All(Corruptions.Apply(grey, kind, 5, 1), y => Assert.Equal(784, y.Length));
        Assert.Throws<ArgumentException>(() => Corruptions.Apply(new[] { new byte[100] }, kind, 1, 1));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Moves_further_from_the_clean_image_at_every_level(CorruptionKind kind)
    {
        var clean = Garments(24);
        var differences = new List<double> { 0 };
        for (int level = 1; level <= 5; level++) differences.Add(MeanDifference(clean, Corruptions.Apply(clean, kind, level, 11)));
        for (int level = 1; level <= 5; level++)
            Assert.True(differences[level] > differences[level - 1],
                $"{kind}: mean absolute difference per pixel at levels 0..5 is {string.Join(", ", differences.Select(d => d.ToString("F2")))}");
    }

    [Fact]
    public void The_noises_of_the_robustness_experiment_are_unchanged()
    {
        var clean = Garments(2);
        // Gaussian σ 0.08 on a black pixel: half of the draws clip to 0; impulse noise only writes 0 or 255 where it changes a pixel.
        var gauss = Corruptions.Apply(clean, CorruptionKind.GaussianNoise, 1, 5);
        Assert.InRange(gauss[0].Count(v => v == 0) / 784.0, 0.3, 0.9);
        var impulse = Corruptions.Apply(clean, CorruptionKind.ImpulseNoise, 5, 5);
        for (int p = 0; p < 784; p++)
            if (impulse[0][p] != clean[0][p]) Assert.True(impulse[0][p] is 0 or 255);
        Assert.InRange(impulse.Zip(clean).Average(t => t.First.Zip(t.Second).Count(q => q.First != q.Second) / 784.0), 0.1, 0.27);
    }

    [Fact]
    public void The_documented_table_lists_every_kind_with_its_levels()
    {
        string docs = Path.Combine(NativeSetup.RepositoryRoot(), "docs", "corruptions.md");
        var text = File.ReadAllText(docs);
        foreach (var d in Corruptions.Definitions)
        {
            var row = text.Split('\n').FirstOrDefault(l => l.StartsWith($"| {d.Kind} |", StringComparison.Ordinal));
            Assert.True(row is not null, $"docs/corruptions.md has no row for {d.Kind}");
            var cells = row!.Split('|').Select(c => c.Trim()).ToArray();
            Assert.Equal(string.Join(", ", d.Levels.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))), cells[4]);
        }
    }
}
