using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Training;

/// <summary>What a training run left on disk.</summary>
public sealed class TrainingResult
{
    public TrainingResult(string manifestPath, IReadOnlyList<string> snapshots, TrainingManifest training)
    {
        ManifestPath = manifestPath;
        Snapshots = snapshots;
        Training = training;
    }

    /// <summary>The manifest of the last finished epoch's weights.</summary>
    public string ManifestPath { get; }

    /// <summary>The manifests of the snapshots kept, oldest first.</summary>
    public IReadOnlyList<string> Snapshots { get; }

    public TrainingManifest Training { get; }
}

/// <summary>
/// Trains a built-in architecture on a labelled <see cref="ImageSet"/>: seeded (initialisation,
/// shuffling, dropout and augmentation all draw from the seed, so the same seed gives the same
/// weights on the same machine and thread count), held-out accuracy after every epoch, the
/// manifest and weights rewritten after every epoch so that a stop keeps the last finished one.
/// </summary>
public static class ClassifierTrainer
{
    private const int CropPadding = 4;

    /// <param name="outliers">
    /// Outlier exposure: an auxiliary set of images from none of the classes. Each training batch is
    /// paired with as many of them (in a seeded order, cycled), and the loss adds
    /// <see cref="TrainingOptions.OutlierWeight"/> × the cross-entropy of their predictions to the uniform
    /// distribution, as Hendrycks et al. (2019) fine-tune.
    /// </param>
    public static TrainingResult Train(ImageSet train, ImageSet validation, IReadOnlyList<string> classNames,
        TrainingOptions options, Device device, Action<TrainingProgress>? progress, Action<FssdEpochResult>? epochDone,
        CancellationToken cancellation, ImageSet? outliers = null)
    {
        Runtime.NativeRuntime.EnsureLoaded();
        if (train.Labels is null) throw new FssdDataException($"The training data '{train.Name}' has no labels.");
        if (validation.Labels is null) throw new FssdDataException($"The held-out data '{validation.Name}' has no labels.");
        if (train.Count == 0) throw new FssdDataException($"The training data '{train.Name}' is empty.");
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 1.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "The batch size must be at least 1.");
        int classes = classNames.Count;
        DatasetOpener.CheckLabels(train.Labels, classes, train.Name);
        DatasetOpener.CheckLabels(validation.Labels, classes, validation.Name);
        var shape = options.InputShape(new[] { train.Height, train.Width });
        if (train.Channels != shape.Channels)
            throw new FssdDataException($"{options.Architecture} reads {shape.Channels}-channel images; the training data has {train.Channels}.");

        var spec = InputSpec(train, options);
        Directory.CreateDirectory(options.OutputDirectory);
        manual_seed(options.Seed);
        using var generator = new Generator((ulong)options.Seed);
        using var network = Build(options, classes);
        if (options.InitialWeights is not null)
            Models.WeightLoader.Load(network, options.InitialWeights, Models.WeightsFormatDetector.Detect(options.InitialWeights), options.Architecture);
        network.to(device);
        if (outliers is not null)
        {
            if (outliers.Count == 0) throw new FssdDataException($"The outlier set '{outliers.Name}' is empty.");
            if (outliers.Channels != train.Channels || outliers.Height != train.Height || outliers.Width != train.Width)
                throw new FssdDataException($"The outlier set is {outliers.Channels}x{outliers.Height}x{outliers.Width}; the training data {train.Channels}x{train.Height}x{train.Width}.");
        }

        var parameters = network.parameters().ToList();
        using optim.Optimizer optimizer = options.CreateOptimizer(parameters);
        int batches = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var scheduler = options.CreateScheduler(optimizer, batches);

        var history = new TrainingManifest
        {
            Dataset = train.Name, TrainingCount = train.Count, ValidationDataset = validation.Name, ValidationCount = validation.Count,
            EpochsRequested = options.Epochs, BatchSize = options.BatchSize, Optimizer = Describe(options),
            LearningRate = options.LearningRate, Schedule = DescribeSchedule(options), Seed = options.Seed,
            Augmented = options.Augment, Threads = get_num_threads(),
            FineTunedFrom = options.InitialWeights is null ? null : Path.GetFileName(options.InitialWeights),
            OutlierDataset = outliers?.Name, OutlierCount = outliers?.Count ?? 0, OutlierWeight = outliers is null ? 0 : options.OutlierWeight,
        };
        string manifestPath = Path.Combine(options.OutputDirectory, options.Name + ".yaml");
        var snapshots = new List<string>();
        using var data = ImageTensors.ToByteTensor(train);
        using var labels = tensor(train.Labels, dtype: ScalarType.Int64);
        using var outlierData = outliers is null ? null : ImageTensors.ToByteTensor(outliers);
        Tensor? outlierOrder = null;
        int outlierCursor = 0;
        var clock = Stopwatch.StartNew();
        double? lastAccuracy = null;

        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            double learningRate = optimizer.ParamGroups.First().LearningRate;
            double lossSum = 0;
            network.train();
            using var order = randperm(train.Count, generator: generator);
            var lastReport = Stopwatch.StartNew();
            try
            {
                for (int b = 0; b < batches; b++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    int start = b * options.BatchSize, length = Math.Min(options.BatchSize, train.Count - start);
                    var index = order.narrow(0, start, length);
                    var scaled = ImageTensors.Scale(data.index_select(0, index), spec);
                    if (options.Augment) scaled = Augment(scaled, generator);
                    var input = ImageTensors.Normalize(scaled, spec).to(device);
                    var target = labels.index_select(0, index).to(device);
                    optimizer.zero_grad();
                    Tensor loss;
                    if (outlierData is null)
                    {
                        var logits = network.forward(input)[0];
                        loss = nn.functional.cross_entropy(logits, target);
                    }
                    else
                    {
                        var outlierIndex = NextOutliers(outlierData, length, generator, ref outlierOrder, ref outlierCursor);
                        var outlierInput = ImageTensors.Normalize(ImageTensors.Scale(outlierData.index_select(0, outlierIndex), spec), spec).to(device);
                        var logits = network.forward(cat(new[] { input, outlierInput }, 0))[0];
                        var inLogits = logits.narrow(0, 0, length);
                        var outLogits = logits.narrow(0, length, length);
                        // Cross-entropy to the uniform distribution: −mean_k log softmax_k, averaged over the outliers.
                        var uniform = outLogits.log_softmax(1).mean(new long[] { 1 }).neg().mean();
                        using var weight = options.OutlierWeight.ToScalar();
                        loss = nn.functional.cross_entropy(inLogits, target).add(uniform.mul(weight), HeldScalars.One);
                    }
                    loss.backward();
                    optimizer.step();
                    if (options.Schedule == LearningRateSchedule.Cosine) scheduler!.step();
                    lossSum += loss.item<float>();
                    if (progress is not null && (lastReport.ElapsedMilliseconds >= 500 || b == batches - 1))
                    {
                        lastReport.Restart();
                        double done = (epoch - 1) * batches + b + 1, total = (double)options.Epochs * batches;
                        var remaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (total - done));
                        progress(new TrainingProgress(epoch, options.Epochs, b + 1, batches, lossSum / (b + 1), lastAccuracy, clock.Elapsed, remaining));
                    }
                }
            }
            catch (OperationCanceledException) when (history.Epochs.Count > 0)
            {
                history.Interrupted = true;
                WriteManifest(manifestPath, options, spec, classNames, history);
                outlierOrder?.Dispose();
                return new TrainingResult(manifestPath, snapshots, history);
            }
            if (options.Schedule == LearningRateSchedule.Step) scheduler!.step();

            network.eval();
            var (counts, correct) = AccuracyEvaluator.Evaluate(x => network.forward(x)[0], validation, spec, device, classes, CancellationToken.None);
            lastAccuracy = counts.Sum() == 0 ? double.NaN : (double)correct.Sum() / counts.Sum();
            var result = new EpochManifest
            {
                Epoch = epoch, Loss = lossSum / batches, Accuracy = lastAccuracy.Value, LearningRate = learningRate,
                Seconds = epochClock.Elapsed.TotalSeconds,
            };
            history.Epochs.Add(result);
            string weights = WriteWeights(network, Path.Combine(options.OutputDirectory, options.Name + ".safetensors"));
            WriteManifest(manifestPath, options, spec, classNames, history, Path.GetFileName(weights));
            if (options.SnapshotEvery > 0 && epoch % options.SnapshotEvery == 0)
            {
                string stem = $"{options.Name}.epoch{epoch:D3}";
                string snapshotWeights = Path.Combine(options.OutputDirectory, stem + ".safetensors");
                AtomicFile.Write(snapshotWeights, stream =>
                {
                    using var source = File.OpenRead(weights);
                    source.CopyTo(stream);
                });
                string snapshotManifest = Path.Combine(options.OutputDirectory, stem + ".yaml");
                WriteManifest(snapshotManifest, options, spec, classNames, history, Path.GetFileName(snapshotWeights), stem);
                snapshots.Add(snapshotManifest);
            }
            epochDone?.Invoke(history.ToInfo().Epochs[^1]);
        }
        outlierOrder?.Dispose();
        return new TrainingResult(manifestPath, snapshots, history);
    }

    /// <summary>Splits off a seeded fraction of a set as held-out data.</summary>
    public static (ImageSet Train, ImageSet HeldOut) Split(ImageSet set, double fraction, long seed)
    {
        if (fraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The held-out fraction must be between 0 and 1.");
        Runtime.NativeRuntime.EnsureLoaded();
        int heldOut = Math.Max(1, (int)Math.Round(set.Count * fraction));
        if (heldOut >= set.Count) throw new FssdDataException($"The dataset '{set.Name}' has {set.Count} samples, too few to hold some out.");
        using var generator = new Generator((ulong)seed + 1);
        using var order = randperm(set.Count, generator: generator);
        var indices = order.data<long>().Select(i => (int)i).ToArray();
        return (set.Subset(indices[heldOut..], set.Name), set.Subset(indices[..heldOut], $"{set.Name} (held out)"));
    }

    /// <summary>The next <paramref name="count"/> outlier indices of a seeded order, a fresh order when one runs out.</summary>
    private static Tensor NextOutliers(Tensor outliers, int count, Generator generator, ref Tensor? order, ref int cursor)
    {
        long n = outliers.shape[0];
        var parts = new List<Tensor>();
        int needed = count;
        while (needed > 0)
        {
            if (order is null || cursor >= n)
            {
                order?.Dispose();
                order = randperm(n, generator: generator);
                order.DetachFromDisposeScope();
                cursor = 0;
            }
            int take = (int)Math.Min(needed, n - cursor);
            parts.Add(order.narrow(0, cursor, take));
            cursor += take;
            needed -= take;
        }
        return parts.Count == 1 ? parts[0] : cat(parts, 0);
    }

    private static BuiltInNetwork Build(TrainingOptions options, int classes) => options.Architecture switch
    {
        ArchitectureCatalog.LeNet => new LeNet(classes),
        ArchitectureCatalog.ResNet18 => ResNet.ResNet18(classes, options.Stem),
        ArchitectureCatalog.ResNet34 => ResNet.ResNet34(classes, options.Stem),
        _ => throw new ArgumentException($"'{options.Architecture}' cannot be trained here; train LeNet, ResNet18 or ResNet34."),
    };

    /// <summary>The input spec: the data's size and channels, and its per-channel mean and std (rounded to 4 places) unless given.</summary>
    private static FssdInputSpec InputSpec(ImageSet train, TrainingOptions options)
    {
        var (mean, std) = options.Mean is not null && options.Std is not null ? (options.Mean, options.Std) : Measure(train);
        return new FssdInputSpec
        {
            Channels = train.Channels, Height = train.Height, Width = train.Width,
            ColorMode = train.Channels == 1 ? ColorMode.Gray : ColorMode.Rgb,
            ValueRange = new[] { 0.0, 1.0 }, Mean = mean, Std = std,
        };
    }

    internal static (double[] Mean, double[] Std) Measure(ImageSet set)
    {
        int c = set.Channels, hw = set.Height * set.Width;
        var sum = new double[c];
        var squares = new double[c];
        var histogram = new long[c, 256];
        for (long i = 0; i < set.Pixels.LongLength; i++) histogram[(int)(i / hw % c), set.Pixels[i]]++;
        long perChannel = (long)set.Count * hw;
        var mean = new double[c];
        var std = new double[c];
        for (int k = 0; k < c; k++)
        {
            for (int v = 0; v < 256; v++)
            {
                double x = v / 255.0;
                sum[k] += histogram[k, v] * x;
                squares[k] += histogram[k, v] * x * x;
            }
            double m = sum[k] / perChannel;
            mean[k] = Math.Round(m, 4);
            std[k] = Math.Round(Math.Sqrt(Math.Max(squares[k] / perChannel - m * m, 1e-12)), 4);
            if (std[k] == 0) std[k] = 1;
        }
        return (mean, std);
    }

    /// <summary>Random crop with zero padding and a random horizontal flip, per sample, from the seeded generator.</summary>
    private static Tensor Augment(Tensor batch, Generator generator)
    {
        long n = batch.shape[0], h = batch.shape[2], w = batch.shape[3];
        var padded = nn.functional.pad(batch, new long[] { CropPadding, CropPadding, CropPadding, CropPadding });
        var offsets = randint(0, 2 * CropPadding + 1, new long[] { n, 2 }, generator: generator).data<long>().ToArray();
        var crops = new Tensor[n];
        for (long i = 0; i < n; i++)
            crops[i] = padded[i].narrow(1, offsets[2 * i], h).narrow(2, offsets[2 * i + 1], w);
        var cropped = stack(crops);
        using var half = 0.5.ToScalar();
        var flip = rand(new long[] { n, 1, 1, 1 }, generator: generator).lt(half);
        return where(flip, cropped.flip(3), cropped);
    }

    private static string WriteWeights(BuiltInNetwork network, string path)
    {
        Models.SafetensorsFile.Write(path, network.state_dict().ToList());
        return path;
    }

    private static void WriteManifest(string path, TrainingOptions options, FssdInputSpec spec, IReadOnlyList<string> classNames,
        TrainingManifest history, string? weights = null, string? name = null)
    {
        var manifest = new ModelManifest
        {
            Name = name ?? options.Name,
            Architecture = options.Architecture,
            Stem = options.Architecture == ArchitectureCatalog.LeNet ? null : options.Stem.ToString().ToLowerInvariant(),
            Weights = weights ?? options.Name + ".safetensors",
            ClassCount = classNames.Count,
            ClassNames = classNames.ToList(),
            Input = new InputManifest
            {
                Channels = spec.Channels, Height = spec.Height, Width = spec.Width, ColorMode = spec.ColorMode.ToString(),
                ValueRange = spec.ValueRange.ToList(), Mean = spec.Mean.ToList(), Std = spec.Std.ToList(),
            },
            Training = history,
        };
        manifest.Write(path, "# Fssd model manifest, written by New-FssdClassifier: Import-FssdModel -Path <this file>\n");
    }

    private static string Describe(TrainingOptions o) => o.Optimizer == TrainingOptimizer.Adadelta
        ? "Adadelta (rho 0.9, eps 1e-6" + (o.WeightDecay > 0 ? $", weight decay {o.WeightDecay}" : "") + ")"
        : $"SGD (momentum {o.Momentum}, weight decay {o.WeightDecay})";

    private static string DescribeSchedule(TrainingOptions o) => o.Schedule switch
    {
        LearningRateSchedule.Step => $"StepLR (gamma {o.Gamma} per epoch)",
        LearningRateSchedule.Cosine => "cosine annealing to 0 over all batches",
        _ => "constant",
    };
}
