using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Fssd.Engine.Calibration;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Models;

namespace Fssd.Engine.Scoring.Baselines;

/// <summary>
/// Calibrates a baseline on the same validation data as FSSD: its hyper-parameters from the grids the
/// paper used, chosen by the true-negative rate at 95% TPR (ties: better AUROC, then the smaller step
/// and temperature), and the threshold that keeps the target TPR of the in-distribution validation
/// inputs. Mahalanobis combines its taps by logistic regression exactly as FSSD-Ensem does (fitted on
/// one half, judged and thresholded on the other).
/// </summary>
public static class BaselineCalibrator
{
    /// <summary>ODIN's temperatures (the paper's grid).</summary>
    public static IReadOnlyList<double> OdinTemperatures { get; } = new[] { 1.0, 10, 100, 1000 };

    /// <summary>ODIN's input steps: 0 to 0.2 in steps of 0.01.</summary>
    public static IReadOnlyList<double> OdinEpsilons { get; } = Enumerable.Range(0, 21).Select(i => Math.Round(i * 0.01, 2)).ToArray();

    /// <summary>Mahalanobis's input steps: as ODIN's and FSSD's in the paper, 0 to 0.2 in steps of 0.01.</summary>
    public static IReadOnlyList<double> MahalanobisEpsilons { get; } = OdinEpsilons;

    /// <summary>MC Dropout's stochastic passes (the paper: 32).</summary>
    public const int DefaultPasses = 32;

    private const int Batch = DetectorScorer.DefaultBatchSize;

    /// <summary>
    /// Fits Mahalanobis's class Gaussians for the given taps on labelled training inputs (decoded,
    /// channels first), in batches, on the model's device.
    /// </summary>
    public static List<(int Tap, ClassGaussians Gaussians)> FitGaussians(LoadedModel model, IReadOnlyList<int> taps, ImageSet training,
        Action<string>? progress, CancellationToken cancellation)
    {
        model.RequireClassifier("Mahalanobis's class Gaussians");
        if (training.Labels is null) throw new FssdDataException($"Mahalanobis needs labelled training data; '{training.Name}' has no labels.");
        int classes = model.Info.ClassNames.Count;
        var spec = model.Info.InputSpec;
        if (training.Channels != spec.Channels || training.Height != spec.Height || training.Width != spec.Width)
            throw new FssdDataException($"'{training.Name}' holds {training.Channels}x{training.Height}x{training.Width} images; " +
                $"'{model.Info.Name}' takes {spec.Channels}x{spec.Height}x{spec.Width}.");
        var parts = taps.Select(_ => new List<TorchSharp.torch.Tensor>()).ToArray();
        // The set's pixels become one byte tensor once; each batch is a view of it.
        using var pixels = ImageTensors.ToByteTensor(training);
        try
        {
            for (int start = 0; start < training.Count; start += 4 * Batch)
            {
                cancellation.ThrowIfCancellationRequested();
                int n = Math.Min(4 * Batch, training.Count - start);
                using var scope = TorchSharp.torch.NewDisposeScope();
                using var noGrad = TorchSharp.torch.no_grad();
                var input = ImageTensors.ToInput(pixels.narrow(0, start, n), spec, model.Device);
                for (int j = 0; j < taps.Count; j++)
                    parts[j].Add(BaselineScorer.TapFeatures(model, input, taps[j]).to_type(TorchSharp.torch.ScalarType.Float64).MoveToOuterDisposeScope());
                if ((start / (4 * Batch)) % 20 == 0) progress?.Invoke($"Training features: {start + n} of {training.Count}.");
            }
            var labels = training.Labels.Select(l => (long)l).ToArray();
            return taps.Select((t, j) =>
            {
                using var all = TorchSharp.torch.cat(parts[j], 0);
                return (t, ClassGaussians.Fit(all, labels, classes));
            }).ToList();
        }
        finally
        {
            foreach (var list in parts) foreach (var t in list) t.Dispose();
        }
    }

    /// <summary>Scores decoded inputs in batches: [ε][input] → score columns.</summary>
    public static double[][][] Features(BaselineScorer scorer, LoadedModel model, IReadOnlyList<byte[]> inputs, IReadOnlyList<double> epsilons,
        double temperature, int passes, MonteCarloStatistic statistic, long seed, Action<string>? progress, string what, CancellationToken cancellation)
    {
        var features = epsilons.Select(_ => new double[inputs.Count][]).ToArray();
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(Batch, inputs.Count - start);
            double[][,] grid;
            using (var scope = TorchSharp.torch.NewDisposeScope())
            {
                var input = ImageTensors.FromSamples(inputs.Skip(start).Take(n).ToList(), model.Info.InputSpec, model.Device);
                grid = scorer.Score(input, epsilons, temperature, passes, statistic, seed + start);
            }
            for (int e = 0; e < epsilons.Count; e++)
                for (int i = 0; i < n; i++)
                    features[e][start + i] = Enumerable.Range(0, scorer.Columns).Select(k => grid[e][i, k]).ToArray();
        }
        progress?.Invoke($"{scorer.Method}: scored {inputs.Count} {what} validation inputs.");
        return features;
    }

    /// <summary>
    /// A baseline detector from its request: the model count checked for the method, Mahalanobis's class
    /// Gaussians fitted on <paramref name="training"/> (at the taps named, or every tap), then calibrated.
    /// </summary>
    public static FssdDetector Create(DetectorMethod method, IReadOnlyList<LoadedModel> models, IReadOnlyList<byte[]> inDistribution,
        IReadOnlyList<byte[]> outOfDistribution, ImageSet? training, IReadOnlyList<string>? layers, double targetTpr, long seed, int passes,
        string validationSource, Action<string>? progress, CancellationToken cancellation)
    {
        if (method == DetectorMethod.DeepEnsemble ? models.Count < 2 : models.Count != 1)
            throw new ArgumentException(method == DetectorMethod.DeepEnsemble
                ? $"DeepEnsemble averages several independently trained classifiers; give two or more models (got {models.Count})."
                : $"{method} scores with one model (got {models.Count}).", nameof(models));
        List<(int Tap, ClassGaussians Gaussians)>? gaussians = null;
        string trainingSource = "";
        try
        {
            if (method == DetectorMethod.Mahalanobis)
            {
                if (training is null)
                    throw new ArgumentException("Mahalanobis fits class Gaussians on labelled training data: give a training set (e.g. FashionMNIST/train).", nameof(training));
                var model = models[0];
                int[] taps = layers is null ? Enumerable.Range(0, model.Taps.Count).ToArray() : FssdScorer.TapIndices(model, layers);
                gaussians = FitGaussians(model, taps, training, progress, cancellation);
                trainingSource = $"{training.Count} images of {training.Name}";
            }
            return Calibrate(method, models, inDistribution, outOfDistribution, targetTpr, seed, progress, cancellation, gaussians, passes, trainingSource, validationSource);
        }
        finally
        {
            if (gaussians is not null) foreach (var (_, g) in gaussians) g.Dispose();
        }
    }

    /// <summary>
    /// Calibrates <paramref name="method"/> on decoded in-distribution and OoD validation inputs and returns the
    /// detector, complete: its hyper-parameters, Mahalanobis's class Gaussians, the threshold and every trial.
    /// </summary>
    public static FssdDetector Calibrate(DetectorMethod method, IReadOnlyList<LoadedModel> models, IReadOnlyList<byte[]> inDistribution,
        IReadOnlyList<byte[]> outOfDistribution, double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation,
        IReadOnlyList<(int Tap, ClassGaussians Gaussians)>? gaussians = null, int passes = DefaultPasses, string trainingSource = "",
        string validationSource = "", string? name = null)
    {
        if (method == DetectorMethod.FSSD) throw new ArgumentException("FSSD detectors are calibrated by DetectorFactory.", nameof(method));
        if (inDistribution.Count < 10 || outOfDistribution.Count < 10)
            throw new FssdDataException($"Calibration needs at least 10 in-distribution and 10 OoD validation inputs; it has {inDistribution.Count} and {outOfDistribution.Count}.");
        ModelCompatibility.RequireSameInput(models);
        var clock = Stopwatch.StartNew();
        using var scorer = new BaselineScorer(method, models, gaussians);
        var model = models[0];
        var common = new FssdDetector
        {
            Name = name ?? $"{model.Info.Name}-{method.ToString().ToLowerInvariant()}",
            Method = method,
            Models = models.Select(m => m.Info).ToList(),
            TargetTpr = targetTpr,
            Calibration = CalibrationKind.OodValidation,
            TrainingSource = trainingSource,
            ValidationSource = validationSource,
            ValidationCount = inDistribution.Count + outOfDistribution.Count,
            CreatedUtc = DateTime.UtcNow,
        };
        if (method == DetectorMethod.Mahalanobis)
        {
            var grid = MahalanobisEpsilons;
            var featuresIn = Features(scorer, model, inDistribution, grid, 1, passes, MonteCarloStatistic.Mean, seed, progress, "in-distribution", cancellation);
            var featuresOut = Features(scorer, model, outOfDistribution, grid, 1, passes, MonteCarloStatistic.Mean, seed, progress, "OoD", cancellation);
            var calibration = DetectorCalibrator.CalibrateFeatures(featuresIn, featuresOut, grid, PerturbationMode.Sign, targetTpr, seed, progress, cancellation);
            return common with
            {
                Epsilon = calibration.Epsilon,
                Perturbation = PerturbationMode.Sign,
                Layers = gaussians!.Select((g, j) => new FssdDetectorLayer
                {
                    Name = model.Taps[g.Tap].Name, Key = model.Taps[g.Tap].Name,
                    Weight = calibration.Regression.Weights[j], Mean = calibration.Scaling.Mean[j], Std = calibration.Scaling.Std[j],
                }).ToList(),
                Gaussians = gaussians!.Select(g => g.Gaussians.ToData(0, model.Taps[g.Tap].Name)).ToList(),
                Intercept = calibration.Regression.Intercept,
                RegularizationC = calibration.Regression.C,
                Threshold = calibration.Threshold,
                ValidationTpr = calibration.AchievedTpr,
                ValidationMetrics = calibration.Validation,
                Trials = calibration.Curve,
                CalibrationSeconds = clock.Elapsed.TotalSeconds,
            };
        }

        // One score per input: every candidate setting is scored on all the validation data.
        var candidates = new List<(double T, double Eps, MonteCarloStatistic Stat, double[] In, double[] Out)>();
        void Add(double t, IReadOnlyList<double> epsilons, MonteCarloStatistic stat)
        {
            var fin = Features(scorer, model, inDistribution, epsilons, t, passes, stat, seed, progress, "in-distribution", cancellation);
            var fout = Features(scorer, model, outOfDistribution, epsilons, t, passes, stat, seed + DetectorScorer.SeedStride, progress, "OoD", cancellation);
            for (int e = 0; e < epsilons.Count; e++)
                candidates.Add((t, epsilons[e], stat, fin[e].Select(r => r[0]).ToArray(), fout[e].Select(r => r[0]).ToArray()));
        }
        switch (method)
        {
            case DetectorMethod.ODIN:
                foreach (var t in OdinTemperatures) Add(t, OdinEpsilons, MonteCarloStatistic.Mean);
                break;
            case DetectorMethod.MCDropout:
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Mean);
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Variance);
                break;
            default:
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Mean);
                break;
        }
        var judged = candidates.Select(c => (c, Tnr: OodMetrics.TnrAtTpr(c.In, c.Out, DetectorCalibrator.SelectionTpr), Metrics: OodMetrics.Compute(c.In, c.Out, method.ToString()))).ToList();
        var best = judged.OrderByDescending(j => j.Tnr).ThenByDescending(j => j.Metrics.AUROC).ThenBy(j => j.c.Eps).ThenBy(j => j.c.T).First();
        bool monteCarlo = method == DetectorMethod.MCDropout;
        var (threshold, achieved) = DetectorMath.ThresholdAt(best.c.In, targetTpr);
        progress?.Invoke($"{method}: chose T {best.c.T:G4}, eps {best.c.Eps:G3}{(monteCarlo ? ", " + best.c.Stat : "")}; TNR at 95% TPR {best.Tnr:P2}, AUROC {best.Metrics.AUROC:P2}.");
        return common with
        {
            Temperature = best.c.T,
            Epsilon = best.c.Eps,
            Statistic = monteCarlo ? best.c.Stat : null,
            Passes = monteCarlo ? passes : 0,
            Threshold = threshold,
            ValidationTpr = achieved,
            ValidationMetrics = OodMetrics.Compute(best.c.In, best.c.Out, $"{method} (validation)"),
            Trials = judged.Select(j => new FssdCalibrationTrial
            {
                Temperature = j.c.T, Epsilon = j.c.Eps, Statistic = monteCarlo ? j.c.Stat : null,
                TnrAt95Tpr = j.Tnr, AUROC = j.Metrics.AUROC, Chosen = ReferenceEquals(j.c.In, best.c.In),
            }).ToList(),
            CalibrationSeconds = clock.Elapsed.TotalSeconds,
        };
    }
}
