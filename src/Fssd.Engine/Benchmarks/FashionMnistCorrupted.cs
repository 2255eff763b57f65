using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Runtime;

namespace Fssd.Engine.Benchmarks;

/// <summary>
/// The paper's benchmark D (ImageNet against ImageNet-C) on FashionMNIST: clean test images against
/// corrupted copies of themselves, for every corruption kind at five levels (<see cref="Corruptions"/>).
/// Every method is calibrated once, as in FashionMnistVsMnist, on clean FashionMNIST and MNIST validation
/// images with the default model, and never sees a corrupted image before the test; the outlier-free
/// FSSD-Ensem sees no OoD image at all. Per kind and level: the AUROC of the clean images (in) against
/// their corrupted copies (OoD); the paper's Figure 4 is the mean and quartiles over kinds per level.
/// </summary>
public static class FashionMnistCorrupted
{
    public const string Name = "FashionMnistCorrupted";

    public static BenchmarkResult Run(BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var methods = MethodSuite.Resolve(options.Methods, MethodSuite.AllMethods);
        var kinds = (options.Corruptions ?? Enum.GetValues<CorruptionKind>()).Distinct().ToList();
        if (kinds.Count == 0) throw new ArgumentException("No corruption kind to run.", nameof(options));
        var total = Stopwatch.StartNew();
        var load = FashionMnistVsMnist.Loader(options, progress, cancellation);
        var fashion = load(BenchmarkData.FashionMnist, "test");
        var mnist = load(BenchmarkData.Mnist, "test");
        // The same draw as FashionMnistVsMnist: the same validation inputs, so the same calibration.
        var (valIn, testIn) = FashionMnistVsMnist.Draw(fashion, options.ValidationCount, options.TestCount, options.Seed);
        var (valOut, _) = FashionMnistVsMnist.Draw(mnist, options.ValidationCount, options.TestCount, options.Seed + 1);
        int n = Math.Min(options.CorruptionCount, testIn.Count);
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(options), options.CorruptionCount, "At least 2 clean test images are needed.");
        var clean = testIn.Take(n).ToList();

        progress($"Corrupting {n} test images: {kinds.Count} kind(s) at 5 levels.");
        var sets = new List<(CorruptionKind Kind, int Level, List<byte[]> Images)>();
        foreach (var kind in kinds)
            for (int level = 1; level <= 5; level++)
            {
                cancellation.ThrowIfCancellationRequested();
                sets.Add((kind, level, Corruptions.Apply(clean, kind, level, options.Seed)));
            }
        var all = clean.Concat(sets.SelectMany(s => s.Images)).ToList();

        var result = new BenchmarkResult
        {
            Benchmark = Name, InName = "FashionMNIST test", OutName = "corrupted copies",
            Options = options, ValidationCount = options.ValidationCount, StartedUtc = DateTime.UtcNow,
            Machine = FashionMnistVsMnist.MachineDescription(session),
        };
        result.Notes.Add($"Calibration as in FashionMnistVsMnist: {valIn.Count} FashionMNIST + {valOut.Count} MNIST validation images (seed {options.Seed}), the default model; " +
            $"the outlier-free FSSD-Ensem on the {valIn.Count} FashionMNIST images alone. No method sees a corrupted image before the test.");
        result.Notes.Add($"Test: {n} clean FashionMNIST test images (in) against their corrupted copies (OoD), one AUROC per kind and level; " +
            "a method's AUROC in the first table is its mean over all kinds and levels. Corruptions and their levels: docs/corruptions.md.");

        var context = FashionMnistVsMnist.DefaultContext(session, load, fashion);
        using (var suite = new MethodSuite(context, options, session, progress, cancellation))
        {
            foreach (var method in methods)
            {
                var calibrated = suite.Calibrate(method, valIn, valOut);
                var clock = Stopwatch.StartNew();
                progress($"{method}: scoring {n} clean and {n * sets.Count} corrupted images.");
                var scores = calibrated.Score(all);
                var cleanScores = scores.Take(n).ToArray();
                var perSet = new List<OodMetricsRow>();
                var rows = new List<FssdRobustnessRow>();
                for (int s = 0; s < sets.Count; s++)
                {
                    var corrupted = scores.Skip(n * (s + 1)).Take(n).ToArray();
                    var metrics = OodMetrics.Compute(cleanScores, corrupted, method);
                    perSet.Add(new OodMetricsRow(metrics.AUROC, metrics.AUPRCIn, metrics.AUPRCOut, metrics.FPR80, metrics.FPR95, metrics.DetectionError));
                    rows.Add(new FssdRobustnessRow
                    {
                        Benchmark = Name, Method = method, Corruption = sets[s].Kind.ToString(), Level = sets[s].Level,
                        Severity = Corruptions.Severity(sets[s].Kind, sets[s].Level), AUROC = metrics.AUROC, InCount = n, OutCount = n,
                    });
                }
                result.Robustness.AddRange(rows);
                double seconds = calibrated.CalibrationSeconds + clock.Elapsed.TotalSeconds;
                result.Rows.Add(new FssdBenchmarkRow
                {
                    Benchmark = Name, Method = method, AUROC = perSet.Average(m => m.Auroc), AUPRC = perSet.Average(m => m.AuprcIn),
                    AUPRCOut = perSet.Average(m => m.AuprcOut), FPR80 = perSet.Average(m => m.Fpr80), FPR95 = perSet.Average(m => m.Fpr95),
                    DetectionError = perSet.Average(m => m.DetectionError), Seconds = seconds, TrainingSeconds = calibrated.TrainingSeconds,
                    Settings = calibrated.Settings, InCount = n, OutCount = n * sets.Count, Robustness = rows,
                });
                result.TestScores.Add((method, cleanScores, scores.Skip(n).ToArray()));
                progress($"{method}: mean AUROC over {sets.Count} corrupted sets {result.Rows[^1].AUROC:P2} ({seconds:F0} s; {calibrated.Settings}); " +
                    $"by level {string.Join(", ", Enumerable.Range(1, 5).Select(l => rows.Where(r => r.Level == l).Average(r => r.AUROC).ToString("P1")))}.");
            }
        }
        result.Seconds = total.Elapsed.TotalSeconds;
        return result;
    }

    private sealed record OodMetricsRow(double Auroc, double AuprcIn, double AuprcOut, double Fpr80, double Fpr95, double DetectionError);
}
