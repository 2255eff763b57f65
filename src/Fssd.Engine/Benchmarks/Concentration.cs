using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Runtime;
using Fssd.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Benchmarks;

/// <summary>What the concentration study does.</summary>
public sealed class ConcentrationOptions
{
    /// <summary>The training steps (batches) at which features are recorded; 0 is the initialisation.</summary>
    public IReadOnlyList<int> Steps { get; set; } = new[] { 0, 10, 50, 100, 250, 500, 1000 };

    /// <summary>Held-out MNIST digits and FashionMNIST images measured at each step.</summary>
    public int SampleCount { get; set; } = 1000;

    /// <summary>MNIST images the LeNet trains on (of the 10,000 the module provisions; the rest are held out).</summary>
    public int TrainingCount { get; set; } = 8000;

    public long Seed { get; set; } = BenchmarkOptions.DefaultSeed;
    public string? DataRoot { get; set; }
}

/// <summary>The study's rows, and the values its charts draw.</summary>
public sealed class ConcentrationResult
{
    public List<FssdConcentrationRow> Rows { get; } = new();

    /// <summary>FSSD of every measured input per step and tap.</summary>
    public List<(int Step, string Tap, double[] In, double[] Out)> Fssd { get; } = new();

    /// <summary>The first two principal components of the logits per step: in-distribution, OoD, and the centre F*.</summary>
    public List<(int Step, double[][] In, double[][] Out, double[] Center)> Components { get; } = new();

    public ConcentrationOptions Options { get; init; } = new();
    public DateTime StartedUtc { get; init; }
    public string Machine { get; init; } = "";
    public double Seconds { get; set; }
}

/// <summary>
/// The paper's Figures 2 and 3: a LeNet trained on MNIST (the recipe of the default model: Adadelta, lr 1,
/// batch 64, StepLR 0.7 per epoch) from a seeded initialisation, with features of held-out MNIST digits
/// (in-distribution) and FashionMNIST images (OoD) recorded at chosen steps at two taps, fc1 and the
/// logits (the last fully connected layer). At each step: FSSD against the centre of 100 uniform-noise
/// images' features at that step, distance moved from step 0, speed since the previous step, and the
/// logits' first two principal components. The module provisions MNIST's 10,000 test digits only, so the
/// network trains on <see cref="ConcentrationOptions.TrainingCount"/> of them and the rest are held out.
/// </summary>
public static class Concentration
{
    public const string Name = "Concentration";

    private static readonly (string Tap, int Output)[] Taps = { ("fc1", 3), ("logits", 0) };

    public static ConcentrationResult Run(ConcentrationOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var steps = options.Steps.Append(0).Distinct().OrderBy(s => s).ToList();
        if (steps.Any(s => s < 0)) throw new ArgumentOutOfRangeException(nameof(options), "Training steps cannot be negative.");
        var total = Stopwatch.StartNew();
        var load = FashionMnistVsMnist.Loader(new BenchmarkOptions { DataRoot = options.DataRoot }, progress, cancellation);
        var mnist = load(BenchmarkData.Mnist, "test");
        var fashion = load(BenchmarkData.FashionMnist, "test");
        if (options.TrainingCount < 64 || options.TrainingCount + options.SampleCount > mnist.Count)
            throw new ArgumentOutOfRangeException(nameof(options), $"Training images ({options.TrainingCount}) and held-out digits ({options.SampleCount}) must fit in MNIST's {mnist.Count}, with at least 64 to train on.");
        var order = Shuffle.Permutation(mnist.Count, options.Seed);
        var train = mnist.Subset(order.Take(options.TrainingCount).ToList(), "MNIST train part");
        var heldIn = mnist.Subset(order.Skip(options.TrainingCount).Take(options.SampleCount).ToList(), "MNIST held out");
        var heldOut = fashion.Subset(Shuffle.Permutation(fashion.Count, options.Seed + 1).Take(options.SampleCount).ToList(), "FashionMNIST");
        var (mean, std) = ClassifierTrainer.Measure(train);
        var spec = new FssdInputSpec
        {
            Channels = 1, Height = 28, Width = 28, ColorMode = ColorMode.Gray, ValueRange = new[] { 0.0, 1.0 }, Mean = mean, Std = std,
        };
        var result = new ConcentrationResult
        {
            Options = options, StartedUtc = DateTime.UtcNow, Machine = FashionMnistVsMnist.MachineDescription(session),
        };
        var device = session.Device;
        manual_seed(options.Seed);
        using var generator = new Generator((ulong)options.Seed);
        using var network = new LeNet(10);
        network.to(device);
        using var inputIn = ImageTensors.ToInput(ImageTensors.ToByteTensor(heldIn), spec, device);
        using var inputOut = ImageTensors.ToInput(ImageTensors.ToByteTensor(heldOut), spec, device);
        using var noiseBytes = randint(0, 256, new long[] { 100, 1, 28, 28 }, dtype: ScalarType.Byte, generator: generator);
        using var inputNoise = ImageTensors.ToInput(noiseBytes, spec, device);
        using var data = ImageTensors.ToByteTensor(train);
        using var labels = tensor(train.Labels!, dtype: ScalarType.Int64);
        using var heldLabels = tensor(heldIn.Labels!, dtype: ScalarType.Int64);
        var parameters = network.parameters().ToList();
        using var optimizer = optim.Adadelta(parameters, lr: 1.0, rho: 0.9, eps: 1e-6);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, 1, 0.7);

        var first = new Dictionary<string, (double[][] In, double[][] Out)>();
        var previous = new Dictionary<string, (int Step, double[][] In, double[][] Out)>();
        int step = 0, batchSize = 64, batches = (train.Count + batchSize - 1) / batchSize;
        Tensor? epochOrder = null;
        try
        {
            foreach (int target in steps)
            {
                while (step < target)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    int b = step % batches;
                    if (b == 0)
                    {
                        if (step > 0) scheduler.step();
                        epochOrder?.Dispose();
                        epochOrder = randperm(train.Count, generator: generator).DetachFromDisposeScope();
                    }
                    int start = b * batchSize, length = Math.Min(batchSize, train.Count - start);
                    var index = epochOrder!.narrow(0, start, length);
                    network.train();
                    var input = ImageTensors.Normalize(ImageTensors.Scale(data.index_select(0, index), spec), spec).to(device);
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(network.forward(input)[0], labels.index_select(0, index).to(device));
                    loss.backward();
                    optimizer.step();
                    step++;
                }
                Record(result, network, step, inputIn, inputOut, inputNoise, heldLabels, first, previous);
                var last = result.Rows.Where(r => r.Step == step).ToList();
                progress($"Step {step}: " + string.Join("; ", last.Select(r =>
                    $"{r.Tap} FSSD in {r.FssdIn:G4} / out {r.FssdOut:G4}, moved {r.MovedIn:G4} / {r.MovedOut:G4}, AUROC {r.AUROC:P1}")) +
                    $"; accuracy {last[0].Accuracy:P1}.");
            }
        }
        finally
        {
            epochOrder?.Dispose();
        }
        result.Seconds = total.Elapsed.TotalSeconds;
        return result;
    }

    private static void Record(ConcentrationResult result, LeNet network, int step, Tensor inputIn, Tensor inputOut, Tensor inputNoise, Tensor heldLabels,
        Dictionary<string, (double[][] In, double[][] Out)> first, Dictionary<string, (int Step, double[][] In, double[][] Out)> previous)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        network.eval();
        var outsIn = network.forward(inputIn);
        var outsOut = network.forward(inputOut);
        var outsNoise = network.forward(inputNoise);
        double accuracy = outsIn[0].argmax(1).cpu().eq(heldLabels).to_type(ScalarType.Float64).mean().item<double>();
        foreach (var (tap, output) in Taps)
        {
            var fIn = Rows(outsIn[output]);
            var fOut = Rows(outsOut[output]);
            var center = Mean(Rows(outsNoise[output]));
            var fssdIn = fIn.Select(f => Distance(f, center)).ToArray();
            var fssdOut = fOut.Select(f => Distance(f, center)).ToArray();
            if (!first.ContainsKey(tap)) first[tap] = (fIn, fOut);
            var start = first[tap];
            double speedIn = 0, speedOut = 0;
            if (previous.TryGetValue(tap, out var before) && step > before.Step)
            {
                speedIn = fIn.Select((f, i) => Distance(f, before.In[i])).Average() / (step - before.Step);
                speedOut = fOut.Select((f, i) => Distance(f, before.Out[i])).Average() / (step - before.Step);
            }
            previous[tap] = (step, fIn, fOut);
            result.Rows.Add(new FssdConcentrationRow
            {
                Step = step, Tap = tap, FssdIn = fssdIn.Average(), FssdOut = fssdOut.Average(),
                MovedIn = fIn.Select((f, i) => Distance(f, start.In[i])).Average(), MovedOut = fOut.Select((f, i) => Distance(f, start.Out[i])).Average(),
                SpeedIn = speedIn, SpeedOut = speedOut, AUROC = OodMetrics.Compute(fssdIn, fssdOut, tap).AUROC, Accuracy = accuracy,
                InCount = fIn.Length, OutCount = fOut.Length,
            });
            result.Fssd.Add((step, tap, fssdIn, fssdOut));
            if (tap == "logits")
            {
                var (pcIn, pcOut, pcCenter) = Principal(fIn, fOut, center);
                result.Components.Add((step, pcIn, pcOut, pcCenter));
            }
        }
    }

    private static double[][] Rows(Tensor t)
    {
        var flat = t.flatten(1).to_type(ScalarType.Float64).cpu();
        int n = (int)flat.shape[0], d = (int)flat.shape[1];
        var values = flat.data<double>().ToArray();
        return Enumerable.Range(0, n).Select(i => values.AsSpan(i * d, d).ToArray()).ToArray();
    }

    private static double[] Mean(double[][] rows) =>
        Enumerable.Range(0, rows[0].Length).Select(j => rows.Average(r => r[j])).ToArray();

    private static double Distance(double[] a, double[] b)
    {
        double sum = 0;
        for (int j = 0; j < a.Length; j++) sum += (a[j] - b[j]) * (a[j] - b[j]);
        return Math.Sqrt(sum);
    }

    /// <summary>Projections on the first two principal components of the in-distribution and OoD features together (power iteration with deflation).</summary>
    private static (double[][] In, double[][] Out, double[] Center) Principal(double[][] fIn, double[][] fOut, double[] center)
    {
        var all = fIn.Concat(fOut).ToArray();
        var mean = Mean(all);
        int d = mean.Length;
        var centered = all.Select(r => r.Select((v, j) => v - mean[j]).ToArray()).ToArray();
        var components = new List<double[]>();
        var random = new Random(1);
        for (int k = 0; k < 2; k++)
        {
            var v = Enumerable.Range(0, d).Select(_ => random.NextDouble() - 0.5).ToArray();
            for (int iteration = 0; iteration < 200; iteration++)
            {
                var next = new double[d];
                foreach (var r in centered)
                {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += r[j] * v[j];
                    for (int j = 0; j < d; j++) next[j] += dot * r[j];
                }
                foreach (var c in components)
                {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += next[j] * c[j];
                    for (int j = 0; j < d; j++) next[j] -= dot * c[j];
                }
                double norm = Math.Sqrt(next.Sum(x => x * x));
                if (norm == 0) break;
                v = next.Select(x => x / norm).ToArray();
            }
            components.Add(v);
        }
        double[] Project(double[] r) => components.Select(c => r.Select((x, j) => (x - mean[j]) * c[j]).Sum()).ToArray();
        return (fIn.Select(Project).ToArray(), fOut.Select(Project).ToArray(), Project(center));
    }
}
