using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Calibration;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.Baselines;
using Fssd.Engine.Training;

namespace Fssd.Engine.Benchmarks;

/// <summary>What a benchmark's methods are built on: the classifier, its training data, and where derived classifiers are cached.</summary>
public sealed class MethodContext
{
    /// <summary>The classifier every single-model method uses (and FSSD's taps).</summary>
    public required LoadedModel Model { get; init; }

    /// <summary>The in-distribution training images (Mahalanobis' Gaussians, ensemble members, outlier exposure).</summary>
    public required Func<ImageSet> Training { get; init; }

    /// <summary>How many images <see cref="Training"/> holds (known without loading it).</summary>
    public required int FullTrainingCount { get; init; }

    /// <summary>Labelled held-out images that training reports accuracy on.</summary>
    public required ImageSet HeldOut { get; init; }

    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>The start of cached classifiers' names: "{prefix}-seed{n}-e{epochs}-n{images}", "{prefix}-oe-kana-e{epochs}-n{images}".</summary>
    public required string ModelPrefix { get; init; }

    /// <summary>Outlier exposure's auxiliary outlier set.</summary>
    public required Func<ImageSet> Outliers { get; init; }

    /// <summary>The training images in words, for Mahalanobis' settings ("FashionMNIST training images").</summary>
    public string TrainingDescription { get; init; } = "training images";
}

/// <summary>One method calibrated and ready to score inputs.</summary>
public sealed class CalibratedMethod
{
    public required string Method { get; init; }
    public required string Settings { get; init; }
    public double CalibrationSeconds { get; init; }
    public double TrainingSeconds { get; init; }

    /// <summary>The method's score per input (higher: more in-distribution).</summary>
    public required Func<IReadOnlyList<byte[]>, double[]> Score { get; init; }

    /// <summary>FSSD-Ensem at ε = 0 only: its score per input, keeping each input's FSSD per tap in the list given.</summary>
    public Func<IReadOnlyList<byte[]>, List<double[]>, double[]>? ScoreKeepingTaps { get; init; }
}

/// <summary>
/// Every OoD method of the module, calibrated as the paper does: on the same validation inputs of each
/// class, with the classifiers a method needs trained (or taken from the cache) by one recipe. The
/// benchmarks share it, so that a method means the same in each of them.
/// </summary>
public sealed class MethodSuite : IDisposable
{
    /// <summary>The paper's methods, in its column order, with Energy before FSSD (the paper-protocol FSSD-Ensem).</summary>
    public static IReadOnlyList<string> PaperMethods { get; } =
        new[] { "Base", "ODIN", "Mahalanobis", "DeepEnsemble", "MCDropout", "OutlierExposure", "Energy", "FSSD" };

    /// <summary>FSSD-Ensem calibrated without OoD data (pseudo-outliers from the in-distribution validation inputs).</summary>
    public const string OutlierFree = "FSSDOutlierFree";

    /// <summary>Every method the module has: the paper's and the outlier-free FSSD-Ensem.</summary>
    public static IReadOnlyList<string> AllMethods { get; } = PaperMethods.Append(OutlierFree).ToArray();

    private const int Batch = DetectorScorer.DefaultBatchSize;

    private readonly MethodContext _context;
    private readonly BenchmarkOptions _options;
    private readonly FssdSession _session;
    private readonly Action<string> _progress;
    private readonly CancellationToken _cancellation;
    private readonly EnsembleScorer _fssd;

    public MethodSuite(MethodContext context, BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        _context = context;
        _options = options;
        _session = session;
        _progress = progress;
        _cancellation = cancellation;
        var model = context.Model;
        var center = CenterEstimator.FromNoise(model, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise);
        _fssd = new EnsembleScorer(new[] { (model, center, Enumerable.Range(0, model.Taps.Count).ToArray()) });
    }

    public IReadOnlyList<string> TapNames => _context.Model.Taps.Select(t => t.Name).ToList();

    /// <summary>The methods asked for by name (any case), in the order given; null: <paramref name="defaults"/>.</summary>
    public static List<string> Resolve(IReadOnlyList<string>? methods, IReadOnlyList<string> defaults) =>
        (methods ?? defaults).Select(m => AllMethods.FirstOrDefault(a => a.Equals(m, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown method '{m}'; the methods are {string.Join(", ", AllMethods)}.")).Distinct().ToList();

    /// <summary>Calibrates <paramref name="method"/> on the validation inputs (OoD ones unused by the outlier-free FSSD).</summary>
    public CalibratedMethod Calibrate(string method, IReadOnlyList<byte[]> valIn, IReadOnlyList<byte[]> valOut)
    {
        _cancellation.ThrowIfCancellationRequested();
        var options = _options;
        var model = _context.Model;
        _progress($"{method}: calibrating on {valIn.Count} + {(method == OutlierFree ? 0 : valOut.Count)} validation inputs.");
        var clock = Stopwatch.StartNew();
        if (method == "FSSD")
        {
            var calibration = DetectorCalibrator.Calibrate(_fssd, valIn, valOut, DetectorCalibrator.PaperGrid, options.Perturbation,
                DetectorMath.DefaultTargetTpr, options.Seed, _progress, _cancellation);
            return new CalibratedMethod
            {
                Method = method, CalibrationSeconds = clock.Elapsed.TotalSeconds,
                Settings = $"FSSD-Ensem over {string.Join(", ", TapNames)}, {options.Perturbation} step, eps {calibration.Epsilon:G3}",
                Score = inputs => ScoreFssd(calibration, inputs, null),
                ScoreKeepingTaps = calibration.Epsilon == 0 ? (inputs, taps) => ScoreFssd(calibration, inputs, taps) : null,
            };
        }
        var models = new List<LoadedModel> { model };
        double trainingSeconds = 0;
        FssdDetector detector;
        if (method == OutlierFree)
        {
            detector = DetectorFactory.Create(new FssdDetectorRequest
            {
                Models = models, OutlierFree = true, Perturbation = options.Perturbation, Seed = options.Seed, Name = OutlierFree,
            }, valIn, null, _progress, null, _cancellation);
        }
        else
        {
            var kind = Enum.Parse<DetectorMethod>(method);
            List<(int Tap, ClassGaussians Gaussians)>? gaussians = null;
            string trainingSource = "";
            var training = Stopwatch.StartNew();
            if (kind == DetectorMethod.DeepEnsemble) models = EnsembleMembers();
            else if (kind == DetectorMethod.OutlierExposure) models = new List<LoadedModel> { OutlierExposureModel() };
            else if (kind == DetectorMethod.Mahalanobis)
            {
                var train = _context.Training();
                if (options.MahalanobisTrainingCount > 0 && options.MahalanobisTrainingCount < train.Count)
                    train = train.Subset(Enumerable.Range(0, options.MahalanobisTrainingCount).ToList(), train.Name);
                gaussians = BaselineCalibrator.FitGaussians(model, Enumerable.Range(0, model.Taps.Count).ToArray(), train, _progress, _cancellation);
                trainingSource = $"{train.Count} {_context.TrainingDescription}";
            }
            if (kind is DetectorMethod.DeepEnsemble or DetectorMethod.OutlierExposure) trainingSeconds = training.Elapsed.TotalSeconds;
            clock.Restart();
            try
            {
                detector = BaselineCalibrator.Calibrate(kind, models, valIn, valOut, DetectorMath.DefaultTargetTpr, options.Seed, _progress, _cancellation,
                    gaussians, options.Passes, trainingSource);
            }
            finally
            {
                if (gaussians is not null) foreach (var (_, g) in gaussians) g.Dispose();
            }
        }
        var detectorModels = models;
        return new CalibratedMethod
        {
            Method = method, Settings = Describe(detector), CalibrationSeconds = clock.Elapsed.TotalSeconds, TrainingSeconds = trainingSeconds,
            Score = inputs =>
            {
                using var scorer = DetectorScorer.For(detector, detectorModels);
                return ScoreAll(scorer, inputs);
            },
        };
    }

    /// <summary>FSSD per tap at ε = 0, one row per input.</summary>
    public List<double[]> TapScores(IReadOnlyList<byte[]> inputs)
    {
        var rows = new List<double[]>(inputs.Count);
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            _cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(Batch).ToList();
            var scores = _fssd.ScoreBytes(part, 0, PerturbationMode.Sign);
            for (int i = 0; i < part.Count; i++) rows.Add(Enumerable.Range(0, _fssd.Keys.Count).Select(k => scores.TapScores[i, k]).ToArray());
        }
        return rows;
    }

    /// <summary>FSSD-Ensem's decision per input; with <paramref name="taps"/>, each input's per-tap scores are kept there too.</summary>
    private double[] ScoreFssd(CalibrationResult calibration, IReadOnlyList<byte[]> inputs, List<double[]>? taps)
    {
        var result = new double[inputs.Count];
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            _cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(Batch).ToList();
            var scores = _fssd.ScoreBytes(part, calibration.Epsilon, calibration.Perturbation, calibration.SharedStepWeights);
            for (int i = 0; i < part.Count; i++)
            {
                var row = Enumerable.Range(0, _fssd.Keys.Count).Select(k => scores.TapScores[i, k]).ToArray();
                taps?.Add(row);
                result[start + i] = calibration.Regression.Decision(calibration.Scaling.Apply(row));
            }
        }
        return result;
    }

    /// <summary>A detector's decision on every input, batch by batch (batch i seeds its random draws).</summary>
    private double[] ScoreAll(DetectorScorer scorer, IReadOnlyList<byte[]> inputs) => scorer.ScoreAll(inputs, Batch, _cancellation);

    private static string Describe(FssdDetector d) => d.Method switch
    {
        DetectorMethod.ODIN => $"T {d.Temperature:G4}, eps {d.Epsilon:G3}",
        DetectorMethod.Mahalanobis => $"eps {d.Epsilon:G3}, taps {string.Join(", ", d.Layers.Select(l => l.Name))}, {d.TrainingSource}",
        DetectorMethod.MCDropout => $"{d.Statistic} of {d.Passes} passes",
        DetectorMethod.DeepEnsemble => $"{d.Models.Count} classifiers: {string.Join(", ", d.Models.Select(m => m.Name))}",
        DetectorMethod.OutlierExposure => $"{d.Model.Name}",
        DetectorMethod.Energy => "T 1",
        DetectorMethod.FSSD => $"FSSD-Ensem over {string.Join(", ", d.Layers.Select(l => l.Name))} against pseudo-outliers, {d.Perturbation} step, eps {d.Epsilon:G3}",
        _ => "",
    };

    private int TrainingImages => _options.TrainingCount == 0 ? _context.FullTrainingCount : Math.Min(_options.TrainingCount, _context.FullTrainingCount);

    /// <summary>
    /// Deep Ensemble's members: LeNets trained with the context model's recipe and seeds 1…N, cached in the
    /// model folder by recipe and seed. The context's model is member 1 where its recipe is the one asked.
    /// </summary>
    private List<LoadedModel> EnsembleMembers()
    {
        var members = new List<LoadedModel>();
        var recipe = _context.Model.Info.Training;
        for (int seed = 1; seed <= _options.EnsembleMembers; seed++)
        {
            if (recipe is not null && recipe.Seed == seed && recipe.Epochs.Count == _options.EnsembleEpochs && recipe.TrainingCount == TrainingImages)
            {
                members.Add(_context.Model);
                continue;
            }
            int memberSeed = seed;
            members.Add(TrainOrReuse(_session, _options.ModelDirectory, $"{_context.ModelPrefix}-seed{seed}-e{_options.EnsembleEpochs}-n{TrainingImages}",
                opts =>
                {
                    opts.Seed = memberSeed;
                    opts.Epochs = _options.EnsembleEpochs;
                }, Train, _context.HeldOut, _context.ClassNames, null, _progress, _cancellation));
        }
        return members;
    }

    private ImageSet Train()
    {
        var train = _context.Training();
        return TrainingImages < train.Count ? train.Subset(Enumerable.Range(0, TrainingImages).ToList(), train.Name) : train;
    }

    /// <summary>The context's model fine-tuned with outlier exposure on the Kana set (KMNIST's stand-in), cached by recipe.</summary>
    private LoadedModel OutlierExposureModel()
    {
        var model = _context.Model;
        return TrainOrReuse(_session, _options.ModelDirectory, $"{_context.ModelPrefix}-oe-kana-e{_options.OutlierExposureEpochs}-n{TrainingImages}", opts =>
        {
            opts.Seed = 1;
            opts.Epochs = _options.OutlierExposureEpochs;
            opts.LearningRate = 0.1;
            opts.InitialWeights = model.Info.WeightsPath;
            opts.Mean = model.Info.InputSpec.Mean;
            opts.Std = model.Info.InputSpec.Std;
        }, Train, _context.HeldOut, _context.ClassNames, _context.Outliers, _progress, _cancellation);
    }

    /// <summary>
    /// A LeNet trained by <paramref name="recipe"/>, or the one the model folder already holds under
    /// <paramref name="name"/> when its training finished. Names carry the recipe, the seed and the data.
    /// </summary>
    public static LoadedModel TrainOrReuse(FssdSession session, string modelDirectory, string name, Action<TrainingOptions> recipe,
        Func<ImageSet> training, ImageSet heldOut, IReadOnlyList<string> classNames, Func<ImageSet>? outliers, Action<string> progress,
        CancellationToken cancellation)
    {
        string manifest = Path.Combine(modelDirectory, name + ".yaml");
        if (File.Exists(manifest))
        {
            var cached = session.Models.GetOrLoad(new ModelLoadRequest { Path = manifest }, session.Device, out _);
            var t = cached.Info.Training;
            if (t is not null && !t.Interrupted && t.Epochs.Count == t.EpochsRequested)
            {
                progress($"Reusing {manifest}.");
                return cached;
            }
        }
        var opts = TrainingOptions.For(ArchitectureCatalog.LeNet);
        opts.Name = name;
        opts.OutputDirectory = modelDirectory;
        recipe(opts);
        var train = training();
        var extra = outliers?.Invoke();
        progress($"Training {name} ({opts.Epochs} epoch(s) on {train.Count} images{(extra is null ? "" : $", {extra.Count} outliers")}).");
        var trained = ClassifierTrainer.Train(train, heldOut, classNames, opts, session.Device,
            null, e => progress($"{name}: epoch {e.Epoch}, loss {e.Loss:F4}, accuracy {e.Accuracy:P2}, {e.Seconds:F0} s."), cancellation, extra);
        return session.Models.GetOrLoad(new ModelLoadRequest { Path = trained.ManifestPath }, session.Device, out _);
    }

    public void Dispose() => _fssd.Dispose();
}
