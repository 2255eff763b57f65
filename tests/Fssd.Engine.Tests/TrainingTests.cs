using System;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Training;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

[Collection(TorchRandomCollection.Name)]
public class TrainingTests
{
    public TrainingTests() => Runtime.NativeRuntime.EnsureLoaded();

    /// <summary>Two classes that LeNet tells apart at once: dark images with a bright left half, and the mirror.</summary>
    private static ImageSet Halves(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 784];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            labels[n] = n % 2;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    pixels[n * 784 + y * 28 + x] = (byte)(((x < 14) == (labels[n] == 0) ? 180 : 30) + random.Next(40));
        }
        return new ImageSet("halves", pixels, labels, count, 1, 28, 28, new[] { "left", "right" },
            Enumerable.Range(0, count).Select(i => $"halves[{i}]").ToArray(), 0);
    }

    private static TrainingResult Train(string directory, string name, long seed)
    {
        var options = TrainingOptions.For("LeNet");
        options.Epochs = 2;
        options.BatchSize = 16;
        options.Seed = seed;
        options.Name = name;
        options.OutputDirectory = directory;
        return ClassifierTrainer.Train(Halves(96, 1), Halves(40, 2), new[] { "left", "right" }, options, CPU, null, null, CancellationToken.None);
    }

    [Fact]
    public void LeNet_learns_a_separable_problem_and_the_seed_fixes_the_weights()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fssd-train-{Guid.NewGuid():N}");
        try
        {
            var a = Train(dir, "a", 3);
            var b = Train(dir, "b", 3);
            var c = Train(dir, "c", 4);
            Assert.Equal(1.0, a.Training.Epochs[^1].Accuracy);
            Assert.Equal(2, a.Training.Epochs.Count);
            Assert.True(a.Training.Epochs[1].Loss < a.Training.Epochs[0].Loss);
            string Hash(string n) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, n + ".safetensors"))));
            Assert.Equal(Hash("a"), Hash("b"));
            Assert.NotEqual(Hash("a"), Hash("c"));
            Assert.Equal(0.7, a.Training.Epochs[1].LearningRate, 12);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_stop_before_the_first_epoch_ends_leaves_nothing_and_a_later_stop_keeps_the_epoch()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fssd-stop-{Guid.NewGuid():N}");
        try
        {
            var options = TrainingOptions.For("LeNet");
            options.Epochs = 5;
            options.BatchSize = 16;
            options.Name = "stop";
            options.OutputDirectory = dir;
            using var early = new CancellationTokenSource();
            early.Cancel();
            Assert.Throws<OperationCanceledException>(() =>
                ClassifierTrainer.Train(Halves(64, 1), Halves(16, 2), new[] { "l", "r" }, options, CPU, null, null, early.Token));
            Assert.False(File.Exists(Path.Combine(dir, "stop.yaml")));

            using var late = new CancellationTokenSource();
            var result = ClassifierTrainer.Train(Halves(64, 1), Halves(16, 2), new[] { "l", "r" }, options, CPU, null,
                e => { if (e.Epoch == 2) late.Cancel(); }, late.Token);
            Assert.True(result.Training.Interrupted);
            Assert.Equal(2, result.Training.Epochs.Count);
            Assert.Contains("interrupted: true", File.ReadAllText(result.ManifestPath));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Mean_and_std_are_measured_per_channel_on_the_training_data()
    {
        // Channel 0 half 0 and half 255: mean 0.5, std 0.5. Channel 1 all 51: mean 0.2, std 0 (kept as 1).
        var pixels = new byte[2 * 2 * 4];
        for (int n = 0; n < 2; n++)
        {
            for (int p = 0; p < 4; p++)
            {
                pixels[n * 8 + p] = (byte)(p < 2 ? 0 : 255);
                pixels[n * 8 + 4 + p] = 51;
            }
        }
        var set = new ImageSet("m", pixels, new[] { 0, 1 }, 2, 2, 2, 2, new[] { "a", "b" }, new[] { "0", "1" }, 0);
        var (mean, std) = ClassifierTrainer.Measure(set);
        Assert.Equal(new[] { 0.5, 0.2 }, mean);
        Assert.Equal(0.5, std[0]);
        Assert.Equal(1.0, std[1]);
    }

    [Fact]
    public void A_held_out_split_is_disjoint_and_seeded()
    {
        var set = Halves(50, 1);
        var (train, held) = ClassifierTrainer.Split(set, 0.2, 9);
        Assert.Equal(40, train.Count);
        Assert.Equal(10, held.Count);
        Assert.Empty(train.Sources.Intersect(held.Sources));
        var (_, again) = ClassifierTrainer.Split(set, 0.2, 9);
        Assert.Equal(held.Sources, again.Sources);
    }
}
