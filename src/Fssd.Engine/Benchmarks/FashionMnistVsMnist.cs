using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Calibration;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.Baselines;
using Fssd.Engine.Training;

namespace Fssd.Engine.Benchmarks;

/// <summary>What a benchmark run does; the defaults are the paper's protocol.</summary>
public sealed class BenchmarkOptions
{
    /// <summary>Validation inputs per class, drawn with <see cref="Seed"/> (the paper: 1,000).</summary>
    public int ValidationCount { get; set; } = 1000;

    /// <summary>Test inputs per class; 0: all the rest (9,000 + 9,000).</summary>
    public int TestCount { get; set; }

    public long Seed { get; set; } = DefaultSeed;

    /// <summary>The seed the published figures were made with.</summary>
    public const long DefaultSeed = 20261201;

    /// <summary>Where trained and fine-tuned classifiers are cached, by recipe and seed.</summary>
    public string ModelDirectory { get; set; } = "";

    /// <summary>Where datasets are provisioned; null: the module's default.</summary>
    public string? DataRoot { get; set; }

    /// <summary>Deep Ensemble's classifiers (the paper: 5), trained with seeds 1, 2, ….</summary>
    public int EnsembleMembers { get; set; } = 5;

    /// <summary>Epochs per ensemble member (the default model's recipe: 14).</summary>
    public int EnsembleEpochs { get; set; } = TrainingOptions.LeNetEpochs;

    /// <summary>FashionMNIST training images for ensemble members and outlier exposure; 0: all 60,000.</summary>
    public int TrainingCount { get; set; }

    /// <summary>Epochs of outlier-exposure fine-tuning of the default model.</summary>
    public int OutlierExposureEpochs { get; set; } = 2;

    /// <summary>FashionMNIST training images the Mahalanobis class Gaussians are fitted on; 0: all 60,000.</summary>
    public int MahalanobisTrainingCount { get; set; }

    /// <summary>MC Dropout's stochastic passes (the paper: 32).</summary>
    public int Passes { get; set; } = BaselineCalibrator.DefaultPasses;

    /// <summary>FSSD's step: Sign (the paper's formula) or Standardized (the authors' code).</summary>
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    public bool Robustness { get; set; }

    /// <summary>Test inputs per class the robustness experiment corrupts.</summary>
    public int RobustnessCount { get; set; } = 1000;

    /// <summary>The methods to run; null: all eight.</summary>
    public IReadOnlyList<string>? Methods { get; set; }
}

/// <summary>Everything a run found: the table, the robustness rows, and the scores the report draws.</summary>
public sealed class BenchmarkResult
{
    public List<FssdBenchmarkRow> Rows { get; } = new();
    public List<FssdRobustnessRow> Robustness { get; } = new();

    /// <summary>Each method's test scores, in-distribution and OoD.</summary>
    public List<(string Method, double[] In, double[] Out)> TestScores { get; } = new();

    /// <summary>FSSD per tap at ε = 0 on the test inputs (the paper's Figures 1 and 6).</summary>
    public List<(string Tap, double[] In, double[] Out)> TapScores { get; } = new();

    public BenchmarkOptions Options { get; init; } = new();
    public int ValidationCount { get; init; }
    public DateTime StartedUtc { get; init; }
    public double Seconds { get; set; }
    public string Machine { get; init; } = "";
}

/// <summary>
/// The paper's Table 2 row "FMNIST vs. MNIST (LeNet)" end to end: FashionMNIST's and MNIST's 10,000
/// test images each, 1,000 + 1,000 drawn for validation, the rest scored; the default model; every
/// method calibrated on the same validation inputs; optionally the robustness experiment.
/// </summary>
public static class FashionMnistVsMnist
{
    public const string Name = "FashionMnistVsMnist";

    /// <summary>The methods, in the paper's column order, with Energy before FSSD.</summary>
    public static IReadOnlyList<string> AllMethods { get; } =
        new[] { "Base", "ODIN", "Mahalanobis", "DeepEnsemble", "MCDropout", "OutlierExposure", "Energy", "FSSD" };

    /// <summary>The paper's Table 2 (AUROC, AUPRC, FPR80, in %), row "FMNIST vs. MNIST (LeNet)".</summary>
    public static IReadOnlyDictionary<string, (double Auroc, double Auprc, double Fpr80)> Paper { get; } =
        new Dictionary<string, (double, double, double)>
        {
            ["Base"] = (77.3, 79.2, 43.5), ["ODIN"] = (96.9, 93.0, 2.5), ["Mahalanobis"] = (99.6, 99.7, 0.0),
            ["DeepEnsemble"] = (83.9, 83.3, 27.5), ["MCDropout"] = (81.7, 85.3, 36.8), ["OutlierExposure"] = (99.6, 99.6, 0.0),
            ["FSSD"] = (99.6, 99.7, 0.0),
        };

    private const int Batch = DetectorScorer.DefaultBatchSize;

    public static BenchmarkResult Run(BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var methods = (options.Methods ?? AllMethods).Select(m => AllMethods.FirstOrDefault(a => a.Equals(m, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown method '{m}'; the methods are {string.Join(", ", AllMethods)}.")).Distinct().ToList();
        var total = Stopwatch.StartNew();
        var provisioner = new DatasetProvisioner(options.DataRoot, progress);
        ImageSet Load(string name, string split)
        {
            progress($"Reading {name}/{split}.");
            return DatasetReader.Load(provisioner.Open(name, split, null, cancellation), 1, 28, 28, progress, cancellation);
        }
        var fashion = Load(BenchmarkData.FashionMnist, "test");
        var mnist = Load(BenchmarkData.Mnist, "test");
        var (valIn, testIn) = Draw(fashion, options.ValidationCount, options.TestCount, options.Seed);
        var (valOut, testOut) = Draw(mnist, options.ValidationCount, options.TestCount, options.Seed + 1);
        var result = new BenchmarkResult
        {
            Options = options, ValidationCount = options.ValidationCount, StartedUtc = DateTime.UtcNow,
            Machine = $"{Environment.ProcessorCount} logical CPU(s), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, libtorch {TorchSharp.torch.__version__} on {session.Device}",
        };

        var model = session.Models.GetOrLoad(new ModelLoadRequest { Path = DefaultModel.ManifestPath }, session.Device, out _);
        ImageSet? fashionTrain = null;
        ImageSet FashionTrain() => fashionTrain ??= Load(BenchmarkData.FashionMnist, "train");
        var scorers = new List<(string Method, Func<IReadOnlyList<byte[]>, double[]> Score)>();

        var center = CenterEstimator.FromNoise(model, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise);
        var fssdScorer = new EnsembleScorer(new[] { (model, center, Enumerable.Range(0, model.Taps.Count).ToArray()) });
        // FSSD per tap at ε = 0 on the test inputs, for the histograms: FSSD's own test pass where it chose ε = 0.
        List<double[]>? tapIn = null, tapOut = null;
        try
        {
            foreach (var method in methods)
            {
                cancellation.ThrowIfCancellationRequested();
                progress($"{method}: calibrating on {valIn.Count} + {valOut.Count} validation inputs.");
                var clock = Stopwatch.StartNew();
                double trainingSeconds = 0;
                string settings;
                Func<IReadOnlyList<byte[]>, double[]> score;
                (double[] In, double[] Out)? testScores = null;
                if (method == "FSSD")
                {
                    var calibration = DetectorCalibrator.Calibrate(fssdScorer, valIn, valOut, DetectorCalibrator.PaperGrid, options.Perturbation,
                        DetectorMath.DefaultTargetTpr, options.Seed, progress, cancellation);
                    settings = $"FSSD-Ensem over {string.Join(", ", model.Taps.Select(t => t.Name))}, {options.Perturbation} step, eps {calibration.Epsilon:G3}";
                    score = inputs => ScoreFssd(fssdScorer, calibration, inputs, null, cancellation);
                    if (calibration.Epsilon == 0)
                    {
                        tapIn = new List<double[]>();
                        tapOut = new List<double[]>();
                        progress($"{method}: scoring {testIn.Count} + {testOut.Count} test inputs.");
                        testScores = (ScoreFssd(fssdScorer, calibration, testIn, tapIn, cancellation), ScoreFssd(fssdScorer, calibration, testOut, tapOut, cancellation));
                    }
                }
                else
                {
                    var kind = Enum.Parse<DetectorMethod>(method);
                    var models = new List<LoadedModel> { model };
                    List<(int Tap, ClassGaussians Gaussians)>? gaussians = null;
                    string trainingSource = "";
                    if (kind == DetectorMethod.DeepEnsemble)
                    {
                        var training = Stopwatch.StartNew();
                        models = EnsembleMembers(options, model, session, FashionTrain, fashion, progress, cancellation);
                        trainingSeconds = training.Elapsed.TotalSeconds;
                    }
                    else if (kind == DetectorMethod.OutlierExposure)
                    {
                        var training = Stopwatch.StartNew();
                        models = new List<LoadedModel> { OutlierExposureModel(options, model, session, FashionTrain, fashion, () => Load(BenchmarkData.Kana, "train"), progress, cancellation) };
                        trainingSeconds = training.Elapsed.TotalSeconds;
                    }
                    else if (kind == DetectorMethod.Mahalanobis)
                    {
                        var train = FashionTrain();
                        if (options.MahalanobisTrainingCount > 0 && options.MahalanobisTrainingCount < train.Count)
                            train = train.Subset(Enumerable.Range(0, options.MahalanobisTrainingCount).ToList(), train.Name);
                        gaussians = BaselineCalibrator.FitGaussians(model, Enumerable.Range(0, model.Taps.Count).ToArray(), train, progress, cancellation);
                        trainingSource = $"{train.Count} FashionMNIST training images";
                    }
                    clock.Restart();
                    FssdDetector detector;
                    try
                    {
                        detector = BaselineCalibrator.Calibrate(kind, models, valIn, valOut, DetectorMath.DefaultTargetTpr, options.Seed, progress, cancellation,
                            gaussians, options.Passes, trainingSource);
                    }
                    finally
                    {
                        if (gaussians is not null) foreach (var (_, g) in gaussians) g.Dispose();
                    }
                    settings = Describe(detector);
                    var detectorModels = models;
                    score = inputs =>
                    {
                        using var scorer = DetectorScorer.For(detector, detectorModels);
                        return ScoreAll(scorer, inputs, cancellation);
                    };
                }
                if (testScores is null) progress($"{method}: scoring {testIn.Count} + {testOut.Count} test inputs.");
                var (scoresIn, scoresOut) = testScores ?? (score(testIn), score(testOut));
                var metrics = OodMetrics.Compute(scoresIn, scoresOut, method);
                Paper.TryGetValue(method, out var paper);
                bool inPaper = Paper.ContainsKey(method);
                result.Rows.Add(new FssdBenchmarkRow
                {
                    Benchmark = Name, Method = method, AUROC = metrics.AUROC, AUPRC = metrics.AUPRCIn, AUPRCOut = metrics.AUPRCOut,
                    FPR80 = metrics.FPR80, FPR95 = metrics.FPR95, DetectionError = metrics.DetectionError,
                    Seconds = clock.Elapsed.TotalSeconds, TrainingSeconds = trainingSeconds, Settings = settings,
                    InCount = scoresIn.Length, OutCount = scoresOut.Length,
                    PaperAUROC = inPaper ? paper.Auroc / 100 : null, PaperAUPRC = inPaper ? paper.Auprc / 100 : null, PaperFPR80 = inPaper ? paper.Fpr80 / 100 : null,
                });
                result.TestScores.Add((method, scoresIn, scoresOut));
                scorers.Add((method, score));
                progress($"{method}: AUROC {metrics.AUROC:P2}, AUPRC {metrics.AUPRCIn:P2}, FPR80 {metrics.FPR80:P2} ({clock.Elapsed.TotalSeconds:F0} s; {settings}).");
            }

            progress($"FSSD per tap at eps 0 on the test inputs{(tapIn is null ? "" : ": from FSSD's own test pass")}.");
            tapIn ??= TapScores(fssdScorer, testIn, cancellation);
            tapOut ??= TapScores(fssdScorer, testOut, cancellation);
            for (int k = 0; k < model.Taps.Count; k++)
                result.TapScores.Add((model.Taps[k].Name, tapIn.Select(r => r[k]).ToArray(), tapOut.Select(r => r[k]).ToArray()));

            if (options.Robustness) Robustness(result, scorers, testIn, testOut, options, progress, cancellation);
        }
        finally
        {
            fssdScorer.Dispose();
        }
        result.Seconds = total.Elapsed.TotalSeconds;
        return result;
    }

    private static void Robustness(BenchmarkResult result, List<(string Method, Func<IReadOnlyList<byte[]>, double[]> Score)> scorers,
        IReadOnlyList<byte[]> testIn, IReadOnlyList<byte[]> testOut, BenchmarkOptions options, Action<string> progress, CancellationToken cancellation)
    {
        int n = Math.Min(options.RobustnessCount, Math.Min(testIn.Count, testOut.Count));
        var cleanIn = testIn.Take(n).ToList();
        var cleanOut = testOut.Take(n).ToList();
        var sets = new List<(string Corruption, int Level, double Severity, IReadOnlyList<byte[]> In, IReadOnlyList<byte[]> Out)> { ("None", 0, 0, cleanIn, cleanOut) };
        foreach (var kind in new[] { CorruptionKind.GaussianNoise, CorruptionKind.ImpulseNoise })
            for (int level = 1; level <= 5; level++)
                sets.Add((kind.ToString(), level, Corruptions.Severity(kind, level),
                    Corruptions.Apply(cleanIn, kind, level, options.Seed), Corruptions.Apply(cleanOut, kind, level, options.Seed + 1)));
        foreach (var (method, score) in scorers)
        {
            foreach (var set in sets)
            {
                cancellation.ThrowIfCancellationRequested();
                double auroc = OodMetrics.Compute(score(set.In), score(set.Out), method).AUROC;
                result.Robustness.Add(new FssdRobustnessRow
                {
                    Benchmark = Name, Method = method, Corruption = set.Corruption, Level = set.Level, Severity = set.Severity,
                    AUROC = auroc, InCount = n, OutCount = n,
                });
            }
            result.Rows.Single(r => r.Method == method).Robustness = result.Robustness.Where(r => r.Method == method).ToList();
            progress($"Robustness: {method} done ({string.Join(", ", result.Robustness.Where(r => r.Method == method).Select(r => $"{r.AUROC:P1}"))}).");
        }
    }

    /// <summary>A seeded draw of validation and test inputs from a set: the first <paramref name="validation"/> of a permutation, then the test.</summary>
    internal static (List<byte[]> Validation, List<byte[]> Test) Draw(ImageSet set, int validation, int test, long seed)
    {
        if (validation < 10 || validation >= set.Count) throw new ArgumentOutOfRangeException(nameof(validation), validation, $"Validation inputs per class must be 10 to {set.Count - 1}.");
        var order = Shuffle.Permutation(set.Count, seed);
        int size = set.SampleSize;
        byte[] At(int i) => set.Pixels.AsSpan(i * size, size).ToArray();
        int testCount = test <= 0 ? set.Count - validation : Math.Min(test, set.Count - validation);
        return (order.Take(validation).Select(At).ToList(), order.Skip(validation).Take(testCount).Select(At).ToList());
    }

    private static List<double[]> TapScores(EnsembleScorer scorer, IReadOnlyList<byte[]> inputs, CancellationToken cancellation)
    {
        var rows = new List<double[]>(inputs.Count);
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(Batch).ToList();
            var scores = scorer.ScoreBytes(part, 0, PerturbationMode.Sign);
            for (int i = 0; i < part.Count; i++) rows.Add(Enumerable.Range(0, scorer.Keys.Count).Select(k => scores.TapScores[i, k]).ToArray());
        }
        return rows;
    }

    /// <summary>FSSD-Ensem's decision per input; with <paramref name="taps"/>, each input's per-tap scores are kept there too.</summary>
    private static double[] ScoreFssd(EnsembleScorer scorer, CalibrationResult calibration, IReadOnlyList<byte[]> inputs, List<double[]>? taps,
        CancellationToken cancellation)
    {
        var result = new double[inputs.Count];
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(Batch).ToList();
            var scores = scorer.ScoreBytes(part, calibration.Epsilon, calibration.Perturbation, calibration.SharedStepWeights);
            for (int i = 0; i < part.Count; i++)
            {
                var row = Enumerable.Range(0, scorer.Keys.Count).Select(k => scores.TapScores[i, k]).ToArray();
                taps?.Add(row);
                result[start + i] = calibration.Regression.Decision(calibration.Scaling.Apply(row));
            }
        }
        return result;
    }

    /// <summary>A detector's decision on every input, batch by batch (batch i seeds its random draws).</summary>
    private static double[] ScoreAll(DetectorScorer scorer, IReadOnlyList<byte[]> inputs, CancellationToken cancellation)
    {
        var result = new double[inputs.Count];
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(Batch).ToList();
            var scores = scorer.Score(part, start / Batch);
            for (int i = 0; i < part.Count; i++)
                result[start + i] = scorer.Combine(Enumerable.Range(0, scorer.Keys.Count).Select(k => scores.TapScores[i, k]).ToArray());
        }
        return result;
    }

    private static string Describe(FssdDetector d) => d.Method switch
    {
        DetectorMethod.ODIN => $"T {d.Temperature:G4}, eps {d.Epsilon:G3}",
        DetectorMethod.Mahalanobis => $"eps {d.Epsilon:G3}, taps {string.Join(", ", d.Layers.Select(l => l.Name))}, {d.TrainingSource}",
        DetectorMethod.MCDropout => $"{d.Statistic} of {d.Passes} passes",
        DetectorMethod.DeepEnsemble => $"{d.Models.Count} classifiers: {string.Join(", ", d.Models.Select(m => m.Name))}",
        DetectorMethod.OutlierExposure => $"{d.Model.Name}",
        DetectorMethod.Energy => "T 1",
        _ => "",
    };

    /// <summary>
    /// Deep Ensemble's members: LeNets trained with the default model's recipe and seeds 1…N, cached in the
    /// model folder by recipe and seed. The default model itself is member 1 where its recipe is the one asked.
    /// </summary>
    private static List<LoadedModel> EnsembleMembers(BenchmarkOptions options, LoadedModel defaultModel, FssdSession session,
        Func<ImageSet> fashionTrain, ImageSet fashionTest, Action<string> progress, CancellationToken cancellation)
    {
        var members = new List<LoadedModel>();
        var recipe = defaultModel.Info.Training;
        for (int seed = 1; seed <= options.EnsembleMembers; seed++)
        {
            bool defaultIsMember = seed == 1 && recipe is not null && recipe.Seed == 1 && recipe.Epochs.Count == options.EnsembleEpochs
                && options.TrainingCount == 0 && recipe.TrainingCount == 60000;
            if (defaultIsMember)
            {
                members.Add(defaultModel);
                continue;
            }
            string name = $"fmnist-lenet-seed{seed}-e{options.EnsembleEpochs}-n{(options.TrainingCount == 0 ? 60000 : options.TrainingCount)}";
            members.Add(TrainOrReuse(name, options, session, progress, cancellation, opts =>
            {
                opts.Seed = seed;
                opts.Epochs = options.EnsembleEpochs;
            }, fashionTrain, fashionTest, null));
        }
        return members;
    }

    /// <summary>The default model fine-tuned with outlier exposure on the Kana set (KMNIST's stand-in), cached by recipe.</summary>
    private static LoadedModel OutlierExposureModel(BenchmarkOptions options, LoadedModel defaultModel, FssdSession session, Func<ImageSet> fashionTrain,
        ImageSet fashionTest, Func<ImageSet> kana, Action<string> progress, CancellationToken cancellation)
    {
        string name = $"fmnist-lenet-oe-kana-e{options.OutlierExposureEpochs}-n{(options.TrainingCount == 0 ? 60000 : options.TrainingCount)}";
        return TrainOrReuse(name, options, session, progress, cancellation, opts =>
        {
            opts.Seed = 1;
            opts.Epochs = options.OutlierExposureEpochs;
            opts.LearningRate = 0.1;
            opts.InitialWeights = defaultModel.Info.WeightsPath;
            opts.Mean = defaultModel.Info.InputSpec.Mean;
            opts.Std = defaultModel.Info.InputSpec.Std;
        }, fashionTrain, fashionTest, kana);
    }

    private static LoadedModel TrainOrReuse(string name, BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation,
        Action<TrainingOptions> recipe, Func<ImageSet> fashionTrain, ImageSet fashionTest, Func<ImageSet>? outliers)
    {
        string manifest = Path.Combine(options.ModelDirectory, name + ".yaml");
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
        opts.OutputDirectory = options.ModelDirectory;
        recipe(opts);
        var train = fashionTrain();
        if (options.TrainingCount > 0 && options.TrainingCount < train.Count)
            train = train.Subset(Enumerable.Range(0, options.TrainingCount).ToList(), train.Name);
        var extra = outliers?.Invoke();
        progress($"Training {name} ({opts.Epochs} epoch(s) on {train.Count} images{(extra is null ? "" : $", {extra.Count} outliers")}).");
        var trained = ClassifierTrainer.Train(train, fashionTest, BenchmarkData.FashionMnistClasses, opts, session.Device,
            null, e => progress($"{name}: epoch {e.Epoch}, loss {e.Loss:F4}, accuracy {e.Accuracy:P2}, {e.Seconds:F0} s."), cancellation, extra);
        return session.Models.GetOrLoad(new ModelLoadRequest { Path = trained.ManifestPath }, session.Device, out _);
    }
}
