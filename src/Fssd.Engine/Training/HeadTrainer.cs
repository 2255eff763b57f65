using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Onnx;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Training;

/// <summary>
/// Fine-tunes an ONNX network (a pretrained backbone such as the ImageNet ResNet18) to the caller's classes:
/// a new linear head on its last feature, trained with the network frozen. The network runs once per image
/// (and once more on its mirror image when augmenting) to write out the features; the head then trains on
/// those, standardised, in milliseconds per epoch. The standardisation is folded into the head's weights, so
/// the model is the network plus one linear layer, written into a manifest beside nothing else: the manifest
/// points at the network's file (pinned by SHA-256) and carries the head.
/// </summary>
public static class HeadTrainer
{
    /// <summary>Images per forward pass while writing out features.</summary>
    public const int FeatureBatch = 16;

    public static TrainingResult Train(LoadedModel initial, ImageSet train, ImageSet validation, IReadOnlyList<string> classNames,
        TrainingOptions options, Action<TrainingProgress>? progress, Action<FssdEpochResult>? epochDone, CancellationToken cancellation)
    {
        NativeRuntime.EnsureLoaded();
        if (initial.Network is not OnnxNetwork network)
            throw new ArgumentException($"A new head is trained on an ONNX model or a pretrained backbone; '{initial.Info.Name}' is a {initial.Info.Architecture}.", nameof(initial));
        if (train.Labels is null) throw new FssdDataException($"The training data '{train.Name}' has no labels.");
        if (validation.Labels is null) throw new FssdDataException($"The held-out data '{validation.Name}' has no labels.");
        if (train.Count == 0) throw new FssdDataException($"The training data '{train.Name}' is empty.");
        if (classNames.Count < 2) throw new FssdDataException($"The training data '{train.Name}' has {classNames.Count} class; a classifier needs two or more.");
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 1.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "The batch size must be at least 1.");
        int classes = classNames.Count;
        DatasetOpener.CheckLabels(train.Labels, classes, train.Name);
        DatasetOpener.CheckLabels(validation.Labels, classes, validation.Name);
        var spec = initial.Info.InputSpec;
        foreach (var set in new[] { train, validation })
            if (set.Channels != spec.Channels || set.Height != spec.Height || set.Width != spec.Width)
                throw new FssdDataException($"'{set.Name}' was read as {set.Channels}x{set.Height}x{set.Width}; '{initial.Info.Name}' reads {spec.Channels}x{spec.Height}x{spec.Width}.");
        Directory.CreateDirectory(options.OutputDirectory);
        var device = initial.Device;
        var clock = Stopwatch.StartNew();
        string feature = network.FeatureName;

        // 1. The features, with the network frozen (as every loaded model is).
        int Batches(int count) => (count + FeatureBatch - 1) / FeatureBatch;
        int featureSteps = Batches(train.Count) * (options.Augment ? 2 : 1) + Batches(validation.Count), stepsDone = 0;
        void Report(int epoch, int batch, int batches, double loss, double? accuracy)
        {
            if (progress is null) return;
            double done = stepsDone, total = featureSteps + 1.0;
            var remaining = epoch == 0 && done > 0 ? TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (total - done)) : (TimeSpan?)null;
            progress(new TrainingProgress(epoch, options.Epochs, batch, batches, loss, accuracy, clock.Elapsed, remaining));
        }
        void Step() { stepsDone++; Report(0, stepsDone, featureSteps, 0, null); }
        using var trainFeatures = Batched(train, spec, device, mirror: false, network.Features, Step, cancellation);
        using var mirrored = options.Augment ? Batched(train, spec, device, mirror: true, network.Features, Step, cancellation) : null;
        using var heldOutFeatures = Batched(validation, spec, device, mirror: false, network.Features, Step, cancellation);
        double featureSeconds = clock.Elapsed.TotalSeconds;

        using var x = mirrored is null ? trainFeatures.alias() : cat(new[] { trainFeatures, mirrored }, 0);
        var labelArray = options.Augment ? train.Labels.Concat(train.Labels).ToArray() : train.Labels;
        using var y = tensor(labelArray.Select(l => (long)l).ToArray(), ScalarType.Int64);
        using var heldOutLabels = tensor(validation.Labels.Select(l => (long)l).ToArray(), ScalarType.Int64);
        // Standardised features make one learning rate fit every backbone; folded into the head at the end.
        using var mean = x.mean(new long[] { 0 });
        // A feature that barely varies is scaled as one that varies a hundredth as much as the average: folded into the
        // head, a smaller spread would make a huge weight, and a new input (or a trained stage) that moves it, huge logits.
        using var spread = x.std(0, unbiased: false);
        double floor = Math.Max(spread.mean().item<float>() * 0.01, 1e-6);
        using var floorScalar = floor.ToScalar();
        using var std = spread.clamp_min(floorScalar);
        using var centered = x.sub(mean);
        using var z = centered.div(std);
        using var heldOutCentered = heldOutFeatures.sub(mean);
        using var heldOutZ = heldOutCentered.div(std);

        // 2. The head: seeded, trained on the features.
        manual_seed(options.Seed);
        using var generator = new Generator((ulong)options.Seed);
        using var head = nn.Linear(z.shape[1], classes);
        var parameters = head.parameters().ToList();
        using optim.Optimizer optimizer = options.CreateOptimizer(parameters);
        int n = (int)z.shape[0];
        int batches = (n + options.BatchSize - 1) / options.BatchSize;
        var scheduler = options.CreateScheduler(optimizer, batches);
        var history = new TrainingManifest
        {
            Dataset = train.Name, TrainingCount = train.Count, ValidationDataset = validation.Name, ValidationCount = validation.Count,
            EpochsRequested = options.Epochs, BatchSize = options.BatchSize,
            Optimizer = (options.Optimizer == TrainingOptimizer.Adadelta ? "Adadelta" : $"SGD (momentum {options.Momentum}, weight decay {options.WeightDecay})") +
                $"; a new linear head on '{feature}', the network frozen; features written out in {featureSeconds:F1} s",
            LearningRate = options.LearningRate, Schedule = options.Schedule.ToString(), Seed = options.Seed,
            Augmented = options.Augment, Threads = get_num_threads(), FineTunedFrom = initial.Info.Name,
        };
        string manifestPath = Path.Combine(options.OutputDirectory, options.Name + ".yaml");
        for (int epoch = 1; epoch <= options.Epochs && !history.Interrupted; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            double learningRate = optimizer.ParamGroups.First().LearningRate;
            double lossSum = 0;
            using var order = randperm(n, generator: generator);
            for (int b = 0; b < batches; b++)
            {
                if (cancellation.IsCancellationRequested)
                {
                    if (history.Epochs.Count == 0) cancellation.ThrowIfCancellationRequested();
                    // Ctrl+C after an epoch: the head as it stands is written.
                    history.Interrupted = true;
                    break;
                }
                using var scope = NewDisposeScope();
                var index = order.narrow(0, b * options.BatchSize, Math.Min(options.BatchSize, n - b * options.BatchSize));
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(head.forward(z.index_select(0, index)), y.index_select(0, index));
                loss.backward();
                optimizer.step();
                if (options.Schedule == LearningRateSchedule.Cosine) scheduler!.step();
                lossSum += loss.item<float>();
            }
            if (history.Interrupted) break;
            if (options.Schedule == LearningRateSchedule.Step) scheduler!.step();
            double accuracy;
            using (no_grad())
            using (var predicted = head.forward(heldOutZ).argmax(1))
            using (var right = predicted.eq(heldOutLabels).sum())
                accuracy = validation.Count == 0 ? double.NaN : right.item<long>() / (double)validation.Count;
            history.Epochs.Add(new EpochManifest
            {
                Epoch = epoch, Loss = lossSum / batches, Accuracy = accuracy, LearningRate = learningRate, Seconds = epochClock.Elapsed.TotalSeconds,
            });
            Report(epoch, batches, batches, lossSum / batches, accuracy);
            epochDone?.Invoke(history.ToInfo().Epochs[^1]);
        }

        // 3. The head on the raw feature: W' = W / std, b' = b − W' · mean.
        float[] weight, bias;
        using (no_grad())
        {
            using var w = head.weight!.div(std);
            using var wMean = w.matmul(mean);
            using var b = head.bias!.sub(wMean);
            weight = w.contiguous().data<float>().ToArray();
            bias = b.contiguous().data<float>().ToArray();
        }
        string? weightsFile = null;
        if (options.TrainLastStage && !history.Interrupted)
            (weight, bias, weightsFile) = TrainLastStage(initial, network, train, validation, options, weight, bias, history, progress, epochDone, cancellation);
        WriteManifest(manifestPath, initial, options, classNames, HeadManifest.From(feature, weight, bias), history, weightsFile);
        return new TrainingResult(manifestPath, Array.Empty<string>(), history);
    }

    /// <summary>The largest gradient norm a step of the last stage and the head takes (larger ones are scaled down to it).</summary>
    public const double MaxGradientNorm = 1.0;

    /// <summary>The most bytes of cached stage inputs <see cref="TrainLastStage"/> keeps in memory.</summary>
    public const long MaxStageCacheBytes = 2L << 30;

    /// <summary>
    /// The last stage and the head together, from the head trained alone: the stage's input (the output of
    /// the stage before it) is computed once per image and kept, so that each epoch runs the last stage alone,
    /// forward and backward. Batch normalisation keeps its running statistics. The stage's weights go into a
    /// copy of the ONNX file, beside the manifest.
    /// </summary>
    private static (float[] Weight, float[] Bias, string WeightsFile) TrainLastStage(LoadedModel initial, OnnxNetwork frozen, ImageSet train, ImageSet validation,
        TrainingOptions options, float[] headWeight, float[] headBias, TrainingManifest history, Action<TrainingProgress>? progress,
        Action<FssdEpochResult>? epochDone, CancellationToken cancellation)
    {
        var device = initial.Device;
        var spec = initial.Info.InputSpec;
        using var network = OnnxNetwork.Load(initial.Info.WeightsPath, initial.Manifest.Preprocessing);
        network.to(device);
        using (var example = zeros(new long[] { 1, spec.Channels, spec.Height, spec.Width }, device: device)) network.Probe(example);
        if (network.FeatureName != frozen.FeatureName)
            throw new FssdModelException($"The head reads '{frozen.FeatureName}', but the last stage of '{initial.Info.WeightsPath}' ends at '{network.FeatureName}'.");
        var (stageInput, names) = network.LastStage();
        var stageParameters = network.MakeTrainable(names);
        long[] shape = network.ValueShape(stageInput);
        long perImage = shape.Skip(1).Aggregate(4L, (a, b) => a * b);
        long images = train.Count * (options.Augment ? 2L : 1L) + validation.Count;
        if (images * perImage > MaxStageCacheBytes)
            throw new FssdDataException(
                $"Training the last stage keeps each image's '{stageInput}' ({perImage / 1024} KiB) in memory: {images} images need {images * perImage >> 20} MiB, " +
                $"over {MaxStageCacheBytes >> 20} MiB. Give at most {MaxStageCacheBytes / perImage / (options.Augment ? 3 : 2)} training images, or train the head alone.");

        Tensor StageInput(Tensor input) => network.RunFrom(new Dictionary<string, Tensor> { [network.InputName] = input }, new[] { stageInput })[stageInput];
        Tensor StageInputs(ImageSet set, bool mirror) => Batched(set, spec, device, mirror, StageInput, () => { }, cancellation);
        using var plain = StageInputs(train, mirror: false);
        using var mirrored = options.Augment ? StageInputs(train, mirror: true) : null;
        using var x = mirrored is null ? plain.alias() : cat(new[] { plain, mirrored }, 0);
        using var heldOut = StageInputs(validation, mirror: false);
        var labelArray = options.Augment ? train.Labels!.Concat(train.Labels!).ToArray() : train.Labels!;
        using var y = tensor(labelArray.Select(l => (long)l).ToArray(), ScalarType.Int64);
        using var heldOutLabels = tensor(validation.Labels!.Select(l => (long)l).ToArray(), ScalarType.Int64);

        int classes = headBias.Length;
        TorchSharp.Modules.Parameter w, b;
        using (var scope = NewDisposeScope())
        {
            w = new TorchSharp.Modules.Parameter(tensor(headWeight, new long[] { classes, headWeight.Length / classes }, ScalarType.Float32).to(device), requires_grad: true);
            b = new TorchSharp.Modules.Parameter(tensor(headBias, new long[] { classes }, ScalarType.Float32).to(device), requires_grad: true);
            w.MoveToOuterDisposeScope();
            b.MoveToOuterDisposeScope();
        }
        try
        {
            var parameters = stageParameters.Concat(new[] { w, b }).ToList();
            using var optimizer = optim.SGD(parameters, options.LastStageLearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay);
            int n = (int)x.shape[0];
            int batches = (n + options.BatchSize - 1) / options.BatchSize;
            var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, options.LastStageEpochs * batches);
            using var generator = new Generator((ulong)options.Seed + 2);
            Tensor Logits(Tensor stage)
            {
                var values = network.RunFrom(new Dictionary<string, Tensor> { [stageInput] = stage }, new[] { network.FeatureName });
                return nn.functional.linear(OnnxNetwork.HeadFeature(values[network.FeatureName]), w, b);
            }
            int first = history.Epochs.Count;
            var clock = Stopwatch.StartNew();
            for (int epoch = 1; epoch <= options.LastStageEpochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                double learningRate = optimizer.ParamGroups.First().LearningRate;
                double lossSum = 0;
                int done = 0;
                using var order = randperm(n, generator: generator);
                for (int batch = 0; batch < batches; batch++)
                {
                    if (cancellation.IsCancellationRequested) { history.Interrupted = true; break; }
                    using var scope = NewDisposeScope();
                    var index = order.narrow(0, batch * options.BatchSize, Math.Min(options.BatchSize, n - batch * options.BatchSize));
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(Logits(x.index_select(0, index).to(device)), y.index_select(0, index).to(device));
                    loss.backward();
                    // A stage without batch normalisation can blow up at this rate once the data are separated: steps are bounded.
                    nn.utils.clip_grad_norm_(parameters, MaxGradientNorm);
                    optimizer.step();
                    scheduler.step();
                    lossSum += loss.item<float>();
                    done++;
                    if (progress is not null)
                    {
                        double total = options.LastStageEpochs * (double)batches, sofar = (epoch - 1) * (double)batches + batch + 1;
                        progress(new TrainingProgress(first + epoch, first + options.LastStageEpochs, batch + 1, batches, lossSum / done, history.Epochs[^1].Accuracy,
                            clock.Elapsed, TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / sofar * (total - sofar))));
                    }
                }
                if (history.Interrupted && done == 0) break;
                double accuracy = 0;
                using (no_grad())
                {
                    long right = 0;
                    for (int start = 0; start < validation.Count; start += FeatureBatch)
                    {
                        using var scope = NewDisposeScope();
                        int length = Math.Min(FeatureBatch, validation.Count - start);
                        var predicted = Logits(heldOut.narrow(0, start, length).to(device)).argmax(1).cpu();
                        right += predicted.eq(heldOutLabels.narrow(0, start, length)).sum().item<long>();
                    }
                    accuracy = validation.Count == 0 ? double.NaN : right / (double)validation.Count;
                }
                history.Epochs.Add(new EpochManifest
                {
                    Epoch = first + epoch, Loss = lossSum / done, Accuracy = accuracy, LearningRate = learningRate, Seconds = epochClock.Elapsed.TotalSeconds,
                });
                epochDone?.Invoke(history.ToInfo().Epochs[^1]);
                if (history.Interrupted) break;
            }
            history.Optimizer += $"; then '{stageInput}' to '{network.FeatureName}' ({names.Count} weight tensors, {stageParameters.Sum(p => p.numel())} values) " +
                $"and the head together: SGD (lr {options.LastStageLearningRate}, cosine) for {history.Epochs.Count - first} epoch(s), batch normalisation's statistics kept";

            string weightsFile = options.Name + ".onnx";
            byte[] bytes = OnnxFile.WithFloats(initial.Info.WeightsPath, network.TrainedValues());
            AtomicFile.WriteAllBytes(Path.Combine(options.OutputDirectory, weightsFile), bytes);
            using var cpuW = w.detach().cpu().contiguous();
            using var cpuB = b.detach().cpu().contiguous();
            return (cpuW.data<float>().ToArray(), cpuB.data<float>().ToArray(), weightsFile);
        }
        finally
        {
            w.Dispose();
            b.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="run"/> on every image of a set (mirrored left to right when asked), <see cref="FeatureBatch"/>
    /// at a time without gradients, each batch's result kept as float32 on the CPU; concatenated in order.
    /// </summary>
    private static Tensor Batched(ImageSet set, FssdInputSpec spec, Device device, bool mirror, Func<Tensor, Tensor> run, Action step, CancellationToken cancellation)
    {
        using var all = ImageTensors.ToByteTensor(set);
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        try
        {
            for (int start = 0; start < set.Count; start += FeatureBatch)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var input = ImageTensors.ToInput(all.narrow(0, start, Math.Min(FeatureBatch, set.Count - start)), spec, device);
                if (mirror) input = input.flip(3);
                parts.Add(run(input).to(float32).cpu().MoveToOuterDisposeScope());
                step();
            }
            return parts.Count == 0 ? zeros(0, 0) : cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    private static void WriteManifest(string path, LoadedModel initial, TrainingOptions options, IReadOnlyList<string> classNames,
        HeadManifest head, TrainingManifest history, string? weightsFile)
    {
        var manifest = initial.Manifest.Clone();
        manifest.Name = options.Name;
        // A frozen network's file stays where it is, pinned by its content; a trained last stage is in a new file beside the manifest.
        manifest.Weights = weightsFile ?? initial.Info.WeightsPath;
        manifest.WeightsSha256 = weightsFile is null ? initial.Info.Sha256
            : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(path)!, weightsFile)))).ToLowerInvariant();
        manifest.ClassCount = classNames.Count;
        manifest.ClassNames = classNames.ToList();
        manifest.Taps = null;
        manifest.Head = head;
        manifest.Training = history;
        manifest.Write(path, "# Fssd model manifest, written by New-FssdClassifier -InitialModel: an ONNX network and a linear head trained on its feature.\n" +
            "# Import-FssdModel -Path <this file>\n");
    }
}
