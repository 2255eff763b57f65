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

    /// <summary>The methods to run; null: the benchmark's own list.</summary>
    public IReadOnlyList<string>? Methods { get; set; }

    /// <summary>Clean test images the corrupted-copy benchmark corrupts (each kind, each level).</summary>
    public int CorruptionCount { get; set; } = 1000;

    /// <summary>The corruption kinds to run; null: all.</summary>
    public IReadOnlyList<CorruptionKind>? Corruptions { get; set; }

    /// <summary>Epochs of the classifiers a benchmark trains for itself (held-out classes; the paper's recipe: 14).</summary>
    public int ClassifierEpochs { get; set; } = TrainingOptions.LeNetEpochs;
}

/// <summary>Everything a run found: the table, the robustness rows, and the scores the report draws.</summary>
public sealed class BenchmarkResult
{
    /// <summary>The benchmark's name, and the in-distribution and OoD sets in words.</summary>
    public string Benchmark { get; init; } = FashionMnistVsMnist.Name;
    public string InName { get; init; } = "FashionMNIST";
    public string OutName { get; init; } = "MNIST";

    /// <summary>A variant of the benchmark (the held-out classes' half); empty for none.</summary>
    public string Variant { get; init; } = "";

    /// <summary>Lines the report prints under its heading (what differs from the paper's setting).</summary>
    public List<string> Notes { get; } = new();

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
/// method calibrated on the same validation inputs; optionally the robustness experiment. The same run
/// with the Kana set as OoD is <see cref="FashionMnistVsKana"/>.
/// </summary>
public static class FashionMnistVsMnist
{
    public const string Name = "FashionMnistVsMnist";

    /// <summary>The methods, in the paper's column order, with Energy before FSSD.</summary>
    public static IReadOnlyList<string> AllMethods => MethodSuite.PaperMethods;

    /// <summary>The paper's Table 2 (AUROC, AUPRC, FPR80, in %), row "FMNIST vs. MNIST (LeNet)".</summary>
    public static IReadOnlyDictionary<string, (double Auroc, double Auprc, double Fpr80)> Paper { get; } =
        new Dictionary<string, (double, double, double)>
        {
            ["Base"] = (77.3, 79.2, 43.5), ["ODIN"] = (96.9, 93.0, 2.5), ["Mahalanobis"] = (99.6, 99.7, 0.0),
            ["DeepEnsemble"] = (83.9, 83.3, 27.5), ["MCDropout"] = (81.7, 85.3, 36.8), ["OutlierExposure"] = (99.6, 99.6, 0.0),
            ["FSSD"] = (99.6, 99.7, 0.0),
        };

    public static BenchmarkResult Run(BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation) =>
        RunPair(Name, BenchmarkData.Mnist, "MNIST", Paper, AllMethods, options, session, progress, cancellation);

    /// <summary>Loads a benchmark dataset split as 1 × 28 × 28 images.</summary>
    internal static Func<string, string, ImageSet> Loader(BenchmarkOptions options, Action<string> progress, CancellationToken cancellation)
    {
        var provisioner = new DatasetProvisioner(options.DataRoot, progress);
        return (name, split) =>
        {
            progress($"Reading {name}/{split}.");
            return DatasetReader.Load(provisioner.Open(name, split, null, cancellation), 1, 28, 28, progress, cancellation);
        };
    }

    internal static string MachineDescription(FssdSession session) =>
        $"{Environment.ProcessorCount} logical CPU(s), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, libtorch {TorchSharp.torch.__version__} on {session.Device}";

    /// <summary>The default model's methods context: FashionMNIST training images, the Kana set as outlier exposure's outliers.</summary>
    internal static MethodContext DefaultContext(FssdSession session, Func<string, string, ImageSet> load, ImageSet fashionTest)
    {
        var model = session.Models.GetOrLoad(new ModelLoadRequest { Path = DefaultModel.ManifestPath }, session.Device, out _);
        ImageSet? fashionTrain = null;
        return new MethodContext
        {
            Model = model, Training = () => fashionTrain ??= load(BenchmarkData.FashionMnist, "train"), FullTrainingCount = 60000,
            HeldOut = fashionTest, ClassNames = BenchmarkData.FashionMnistClasses, ModelPrefix = "fmnist-lenet",
            Outliers = () => load(BenchmarkData.Kana, "train"), TrainingDescription = "FashionMNIST training images",
        };
    }

    /// <summary>
    /// FashionMNIST's test images against one OoD set's: validation drawn from each with the seed, the
    /// default model, every method calibrated on the validation inputs and scored on the rest.
    /// </summary>
    internal static BenchmarkResult RunPair(string benchmark, string outDataset, string outName,
        IReadOnlyDictionary<string, (double Auroc, double Auprc, double Fpr80)> paper, IReadOnlyList<string> defaultMethods,
        BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var methods = MethodSuite.Resolve(options.Methods, defaultMethods);
        var total = Stopwatch.StartNew();
        var load = Loader(options, progress, cancellation);
        var fashion = load(BenchmarkData.FashionMnist, "test");
        var other = load(outDataset, "test");
        var (valIn, testIn) = Draw(fashion, options.ValidationCount, options.TestCount, options.Seed);
        var (valOut, testOut) = Draw(other, options.ValidationCount, options.TestCount, options.Seed + 1);
        var result = new BenchmarkResult
        {
            Benchmark = benchmark, OutName = outName,
            Options = options, ValidationCount = options.ValidationCount, StartedUtc = DateTime.UtcNow, Machine = MachineDescription(session),
        };

        var context = DefaultContext(session, load, fashion);
        var model = context.Model;
        var scorers = new List<(string Method, Func<IReadOnlyList<byte[]>, double[]> Score)>();
        // FSSD per tap at ε = 0 on the test inputs, for the histograms: FSSD's own test pass where it chose ε = 0.
        List<double[]>? tapIn = null, tapOut = null;
        using (var suite = new MethodSuite(context, options, session, progress, cancellation))
        {
            foreach (var method in methods)
            {
                var calibrated = suite.Calibrate(method, valIn, valOut);
                var clock = Stopwatch.StartNew();
                progress($"{method}: scoring {testIn.Count} + {testOut.Count} test inputs.");
                double[] scoresIn, scoresOut;
                if (calibrated.ScoreKeepingTaps is { } keeping)
                {
                    tapIn = new List<double[]>();
                    tapOut = new List<double[]>();
                    (scoresIn, scoresOut) = (keeping(testIn, tapIn), keeping(testOut, tapOut));
                }
                else (scoresIn, scoresOut) = (calibrated.Score(testIn), calibrated.Score(testOut));
                double seconds = calibrated.CalibrationSeconds + clock.Elapsed.TotalSeconds;
                result.Rows.Add(Row(benchmark, "", calibrated, scoresIn, scoresOut, seconds, paper));
                result.TestScores.Add((method, scoresIn, scoresOut));
                scorers.Add((method, calibrated.Score));
                var row = result.Rows[^1];
                progress($"{method}: AUROC {row.AUROC:P2}, AUPRC {row.AUPRC:P2}, FPR80 {row.FPR80:P2} ({seconds:F0} s; {calibrated.Settings}).");
            }

            progress($"FSSD per tap at eps 0 on the test inputs{(tapIn is null ? "" : ": from FSSD's own test pass")}.");
            tapIn ??= suite.TapScores(testIn);
            tapOut ??= suite.TapScores(testOut);
            for (int k = 0; k < model.Taps.Count; k++)
                result.TapScores.Add((model.Taps[k].Name, tapIn.Select(r => r[k]).ToArray(), tapOut.Select(r => r[k]).ToArray()));

            // The scorers use the suite's FSSD taps: the robustness experiment runs before the suite is disposed.
            if (options.Robustness) Robustness(result, scorers, testIn, testOut, options, progress, cancellation);
        }
        result.Seconds = total.Elapsed.TotalSeconds;
        return result;
    }

    /// <summary>A method's table row from its test scores.</summary>
    internal static FssdBenchmarkRow Row(string benchmark, string variant, CalibratedMethod calibrated, double[] scoresIn, double[] scoresOut, double seconds,
        IReadOnlyDictionary<string, (double Auroc, double Auprc, double Fpr80)>? paper)
    {
        var metrics = OodMetrics.Compute(scoresIn, scoresOut, calibrated.Method);
        (double Auroc, double Auprc, double Fpr80) published = default;
        bool inPaper = paper is not null && paper.TryGetValue(calibrated.Method, out published);
        return new FssdBenchmarkRow
        {
            Benchmark = benchmark, Variant = variant, Method = calibrated.Method, AUROC = metrics.AUROC, AUPRC = metrics.AUPRCIn, AUPRCOut = metrics.AUPRCOut,
            FPR80 = metrics.FPR80, FPR95 = metrics.FPR95, DetectionError = metrics.DetectionError,
            Seconds = seconds, TrainingSeconds = calibrated.TrainingSeconds, Settings = calibrated.Settings,
            InCount = scoresIn.Length, OutCount = scoresOut.Length,
            PaperAUROC = inPaper ? published.Auroc / 100 : null, PaperAUPRC = inPaper ? published.Auprc / 100 : null, PaperFPR80 = inPaper ? published.Fpr80 / 100 : null,
        };
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
                    Benchmark = result.Benchmark, Method = method, Corruption = set.Corruption, Level = set.Level, Severity = set.Severity,
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
}

/// <summary>
/// A further far-OoD row: FashionMNIST against the Kana set's test split (printed hiragana, KMNIST's
/// stand-in), with FashionMnistVsMnist's protocol and the default model. Outlier exposure's auxiliary
/// set is the Kana training split, so its row has seen this kind of OoD data; the report says so.
/// </summary>
public static class FashionMnistVsKana
{
    public const string Name = "FashionMnistVsKana";

    public static BenchmarkResult Run(BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var result = FashionMnistVsMnist.RunPair(Name, BenchmarkData.Kana, "Kana", new Dictionary<string, (double, double, double)>(),
            MethodSuite.AllMethods, options, session, progress, cancellation);
        result.Notes.Add("Kana: the ten KMNIST hiragana printed in seven faces of Debian's Japanese fonts (not handwriting); the paper has no such row.");
        result.Notes.Add("Outlier exposure was fine-tuned with the Kana training split as its outliers: its row has seen this kind of OoD data (other images of it), the others have not.");
        return result;
    }
}
