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

    private const int Batch = 128;
    private static readonly ConditionalWeakTable<FssdBaseline, BaselineState> States = new();

    /// <summary>The engine's part of a calibrated baseline: the class Gaussians of Mahalanobis.</summary>
    private sealed class BaselineState
    {
        public IReadOnlyList<(int Tap, ClassGaussians Gaussians)> Gaussians { get; init; } = Array.Empty<(int, ClassGaussians)>();
    }

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

    /// <summary>The scorer a calibrated baseline scores with.</summary>
    public static BaselineScorer ScorerFor(FssdBaseline baseline, IReadOnlyList<LoadedModel> models)
    {
        var method = Enum.Parse<BaselineMethod>(baseline.Method);
        if (method != BaselineMethod.Mahalanobis) return new BaselineScorer(method, models);
        if (!States.TryGetValue(baseline, out var state))
            throw new FssdModelException("This Mahalanobis baseline's class Gaussians are not in this session; calibrate it again with New-FssdBaseline.");
        return new BaselineScorer(method, models, state.Gaussians);
    }

    /// <summary>A calibrated baseline's final score of one input from its score columns.</summary>
    public static double Combine(FssdBaseline baseline, IReadOnlyList<double> columns) =>
        baseline.Layers.Count == 0 ? columns[0] : DetectorMath.Combine(baseline.Intercept, baseline.Layers, columns);

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

    /// <summary>Calibrates <paramref name="method"/> on decoded in-distribution and OoD validation inputs.</summary>
    public static FssdBaseline Calibrate(BaselineMethod method, IReadOnlyList<LoadedModel> models, IReadOnlyList<byte[]> inDistribution,
        IReadOnlyList<byte[]> outOfDistribution, double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation,
        IReadOnlyList<(int Tap, ClassGaussians Gaussians)>? gaussians = null, int passes = DefaultPasses, string trainingSource = "",
        string validationSource = "")
    {
        if (inDistribution.Count < 10 || outOfDistribution.Count < 10)
            throw new FssdDataException($"Calibration needs at least 10 in-distribution and 10 OoD validation inputs; it has {inDistribution.Count} and {outOfDistribution.Count}.");
        var clock = Stopwatch.StartNew();
        var scorer = new BaselineScorer(method, models, gaussians);
        var model = models[0];
        var trials = new List<FssdBaselineTrial>();
        FssdBaseline result;
        if (method == BaselineMethod.Mahalanobis)
        {
            var grid = MahalanobisEpsilons;
            var featuresIn = Features(scorer, model, inDistribution, grid, 1, passes, MonteCarloStatistic.Mean, seed, progress, "in-distribution", cancellation);
            var featuresOut = Features(scorer, model, outOfDistribution, grid, 1, passes, MonteCarloStatistic.Mean, seed, progress, "OoD", cancellation);
            var calibration = DetectorCalibrator.CalibrateFeatures(featuresIn, featuresOut, grid, PerturbationMode.Sign, targetTpr, seed, progress, cancellation);
            trials.AddRange(calibration.Curve.Select(c => new FssdBaselineTrial
            {
                Method = method.ToString(), Epsilon = c.Epsilon, TnrAt95Tpr = c.TnrAt95Tpr, AUROC = c.AUROC, Chosen = c.Epsilon == calibration.Epsilon,
            }));
            result = new FssdBaseline
            {
                Method = method.ToString(),
                Models = models.Select(m => m.Info).ToList(),
                Epsilon = calibration.Epsilon,
                Layers = gaussians!.Select((g, j) => new FssdDetectorLayer
                {
                    Name = model.Taps[g.Tap].Name, Key = model.Taps[g.Tap].Name,
                    Weight = calibration.Regression.Weights[j], Mean = calibration.Scaling.Mean[j], Std = calibration.Scaling.Std[j],
                }).ToList(),
                Intercept = calibration.Regression.Intercept,
                Threshold = calibration.Threshold,
                TargetTpr = targetTpr,
                ValidationTpr = calibration.AchievedTpr,
                ValidationMetrics = calibration.Validation,
                Trials = trials,
                TrainingSource = trainingSource,
                ValidationSource = validationSource,
                ValidationCount = inDistribution.Count + outOfDistribution.Count,
                Seconds = clock.Elapsed.TotalSeconds,
            };
            States.Add(result, new BaselineState { Gaussians = gaussians! });
            return result;
        }

        // One score per input: every candidate setting is scored on all the validation data.
        var candidates = new List<(double T, double Eps, MonteCarloStatistic Stat, double[] In, double[] Out)>();
        void Add(double t, IReadOnlyList<double> epsilons, MonteCarloStatistic stat)
        {
            var fin = Features(scorer, model, inDistribution, epsilons, t, passes, stat, seed, progress, "in-distribution", cancellation);
            var fout = Features(scorer, model, outOfDistribution, epsilons, t, passes, stat, seed + 1_000_003, progress, "OoD", cancellation);
            for (int e = 0; e < epsilons.Count; e++)
                candidates.Add((t, epsilons[e], stat, fin[e].Select(r => r[0]).ToArray(), fout[e].Select(r => r[0]).ToArray()));
        }
        switch (method)
        {
            case BaselineMethod.ODIN:
                foreach (var t in OdinTemperatures) Add(t, OdinEpsilons, MonteCarloStatistic.Mean);
                break;
            case BaselineMethod.MCDropout:
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Mean);
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Variance);
                break;
            default:
                Add(1, new[] { 0.0 }, MonteCarloStatistic.Mean);
                break;
        }
        var judged = candidates.Select(c =>
        {
            var (threshold95, _) = DetectorMath.ThresholdAt(c.In, DetectorCalibrator.SelectionTpr);
            double tnr = (double)c.Out.Count(s => s < threshold95) / c.Out.Length;
            return (c, Tnr: tnr, Metrics: OodMetrics.Compute(c.In, c.Out, method.ToString()));
        }).ToList();
        var best = judged.OrderByDescending(j => j.Tnr).ThenByDescending(j => j.Metrics.AUROC).ThenBy(j => j.c.Eps).ThenBy(j => j.c.T).First();
        string statistic = method == BaselineMethod.MCDropout ? best.c.Stat.ToString() : "";
        trials.AddRange(judged.Select(j => new FssdBaselineTrial
        {
            Method = method.ToString(), Temperature = j.c.T, Epsilon = j.c.Eps,
            Statistic = method == BaselineMethod.MCDropout ? j.c.Stat.ToString() : "",
            TnrAt95Tpr = j.Tnr, AUROC = j.Metrics.AUROC, Chosen = ReferenceEquals(j.c.In, best.c.In),
        }));
        var (threshold, achieved) = DetectorMath.ThresholdAt(best.c.In, targetTpr);
        progress?.Invoke($"{method}: chose T {best.c.T:G4}, eps {best.c.Eps:G3}{(statistic.Length > 0 ? ", " + statistic : "")}; TNR at 95% TPR {best.Tnr:P2}, AUROC {best.Metrics.AUROC:P2}.");
        return new FssdBaseline
        {
            Method = method.ToString(),
            Models = models.Select(m => m.Info).ToList(),
            Temperature = best.c.T,
            Epsilon = best.c.Eps,
            Statistic = statistic,
            Passes = method == BaselineMethod.MCDropout ? passes : 0,
            Threshold = threshold,
            TargetTpr = targetTpr,
            ValidationTpr = achieved,
            ValidationMetrics = OodMetrics.Compute(best.c.In, best.c.Out, $"{method} (validation)"),
            Trials = trials,
            TrainingSource = trainingSource,
            ValidationSource = validationSource,
            ValidationCount = inDistribution.Count + outOfDistribution.Count,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }
}
