using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Scoring;
using static TorchSharp.torch;

namespace Fssd.Engine.Calibration;

/// <summary>What calibration found: the chosen ε, the layer ensemble, the threshold and the evidence.</summary>
public sealed class CalibrationResult
{
    public double Epsilon { get; init; }
    public PerturbationMode Perturbation { get; init; }

    /// <summary>PerTap, or Shared with <see cref="StepWeights"/>: per layer, its weight in the objective of the one step.</summary>
    public PerturbationScope Scope { get; init; }
    public IReadOnlyList<double> StepWeights { get; init; } = Array.Empty<double>();
    public LogisticRegression Regression { get; init; } = null!;
    public FeatureScaling Scaling { get; init; } = null!;
    public double Threshold { get; init; }
    public double AchievedTpr { get; init; }
    public FssdMetrics Validation { get; init; } = new();
    public IReadOnlyList<FssdCalibrationTrial> Curve { get; init; } = Array.Empty<FssdCalibrationTrial>();
    public int InCount { get; init; }
    public int OutCount { get; init; }

    /// <summary>This result with the shared step that made its features.</summary>
    public CalibrationResult WithSharedStep(IReadOnlyList<double> stepWeights) => new()
    {
        Epsilon = Epsilon, Perturbation = Perturbation, Scope = PerturbationScope.Shared, StepWeights = stepWeights, Regression = Regression,
        Scaling = Scaling, Threshold = Threshold, AchievedTpr = AchievedTpr, Validation = Validation, Curve = Curve, InCount = InCount, OutCount = OutCount,
    };

    /// <summary>The step weights a scorer takes: null for the per-tap step.</summary>
    public IReadOnlyList<double>? SharedStepWeights => Scope == PerturbationScope.Shared ? StepWeights : null;
}

/// <summary>
/// FSSD-Ensem as the paper calibrates it (Section 4): per-tap FSSDs are the features of an
/// L2-regularised logistic regression (standardised features, C by cross-validation) fitted on half
/// of the validation data; ε is chosen from a grid by the true-negative rate at 95% TPR on the other
/// half, as the authors' code does; the threshold keeps the target TPR of that other half's
/// in-distribution inputs, which the regression never saw.
/// </summary>
public static class DetectorCalibrator
{
    /// <summary>The paper's ε grid, 0 to 0.2 in steps of 0.01, in both directions.</summary>
    public static IReadOnlyList<double> PaperGrid { get; } =
        Enumerable.Range(-20, 41).Select(i => Math.Round(i * 0.01, 2)).OrderBy(Math.Abs).ThenBy(e => e).ToArray();

    /// <summary>The TPR at which ε candidates are compared (the authors' criterion).</summary>
    public const double SelectionTpr = 0.95;

    private const int Batch = DetectorScorer.DefaultBatchSize;

    public static CalibrationResult Calibrate(EnsembleScorer scorer, IReadOnlyList<byte[]> inDistribution, IReadOnlyList<byte[]> outOfDistribution,
        IReadOnlyList<double> epsilons, PerturbationMode mode, double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation,
        bool paired = false, PerturbationScope scope = PerturbationScope.PerTap)
    {
        if (inDistribution.Count < 10 || outOfDistribution.Count < 10)
            throw new FssdDataException($"Calibration needs at least 10 in-distribution and 10 OoD validation inputs; it has {inDistribution.Count} and {outOfDistribution.Count}.");
        if (epsilons.Count == 0) throw new ArgumentException("The ε grid is empty.", nameof(epsilons));
        double[]? stepWeights = null;
        if (scope == PerturbationScope.Shared)
        {
            // The shared step follows the layer ensemble fitted at ε = 0: the raw-score weight of layer j is w_j / std_j.
            var zero = new[] { 0.0 };
            var plain = CalibrateFeatures(Features(scorer, inDistribution, zero, mode, progress, "in-distribution (eps 0)", cancellation),
                Features(scorer, outOfDistribution, zero, mode, progress, "OoD (eps 0)", cancellation), zero, mode, targetTpr, seed, null, cancellation, paired);
            stepWeights = plain.Regression.Weights.Select((w, j) => w / plain.Scaling.Std[j]).ToArray();
            progress?.Invoke($"Shared step along {string.Join(" + ", stepWeights.Select((w, j) => $"{w:G3}·FSSD[{scorer.Keys[j]}]"))}.");
        }
        var featuresIn = Features(scorer, inDistribution, epsilons, mode, progress, "in-distribution", cancellation, stepWeights);
        var featuresOut = Features(scorer, outOfDistribution, epsilons, mode, progress, "OoD", cancellation, stepWeights);
        var result = CalibrateFeatures(featuresIn, featuresOut, epsilons, mode, targetTpr, seed, progress, cancellation, paired);
        return stepWeights is null ? result : result.WithSharedStep(stepWeights);
    }

    /// <summary>
    /// The same calibration on features computed already: [ε][input] → one row of per-tap scores, in-distribution
    /// and OoD. Used by FSSD and by the baselines that combine taps (Mahalanobis).
    /// </summary>
    public static CalibrationResult CalibrateFeatures(double[][][] featuresIn, double[][][] featuresOut, IReadOnlyList<double> epsilons,
        PerturbationMode mode, double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation, bool paired = false)
    {
        int inCount = featuresIn[0].Length, outCount = featuresOut[0].Length;
        var (fitIn, holdIn) = Halves(inCount, seed);
        // Paired: OoD input i was made from in-distribution input i, so both take the same half and the
        // regression never sees anything made from the inputs the threshold is set on.
        if (paired && outCount != inCount) throw new ArgumentException("Paired calibration needs as many OoD inputs as in-distribution ones.");
        var (fitOut, holdOut) = paired ? (fitIn, holdIn) : Halves(outCount, seed + 1);

        var curve = new List<FssdCalibrationTrial>();
        var fits = new List<(LogisticRegression Model, FeatureScaling Scaling)>();
        for (int e = 0; e < epsilons.Count; e++)
        {
            cancellation.ThrowIfCancellationRequested();
            var rows = fitIn.Select(i => featuresIn[e][i]).Concat(fitOut.Select(i => featuresOut[e][i])).ToList();
            var labels = fitIn.Select(_ => true).Concat(fitOut.Select(_ => false)).ToList();
            var scaling = FeatureScaling.Fit(rows);
            var (model, _) = RegularizationSearch.FitWithCrossValidation(rows.Select(scaling.Apply).ToList(), labels);
            var scoresIn = holdIn.Select(i => model.Decision(scaling.Apply(featuresIn[e][i]))).ToList();
            var scoresOut = holdOut.Select(i => model.Decision(scaling.Apply(featuresOut[e][i]))).ToList();
            double tnr = OodMetrics.TnrAtTpr(scoresIn, scoresOut, SelectionTpr);
            var metrics = OodMetrics.Compute(scoresIn, scoresOut, "FSSD");
            curve.Add(new FssdCalibrationTrial { Epsilon = epsilons[e], Perturbation = mode, TnrAt95Tpr = tnr, AUROC = metrics.AUROC, C = model.C });
            fits.Add((model, scaling));
            progress?.Invoke($"eps {epsilons[e]:G3}: TNR at 95% TPR {tnr:P2}, AUROC {metrics.AUROC:P2}");
        }

        // The best TNR; ties go to the better AUROC, then to the smaller step.
        int best = Enumerable.Range(0, epsilons.Count)
            .OrderByDescending(e => curve[e].TnrAt95Tpr).ThenByDescending(e => curve[e].AUROC).ThenBy(e => Math.Abs(epsilons[e])).First();
        curve[best] = new FssdCalibrationTrial
        {
            Epsilon = curve[best].Epsilon, Perturbation = mode, TnrAt95Tpr = curve[best].TnrAt95Tpr, AUROC = curve[best].AUROC, C = curve[best].C, Chosen = true,
        };
        var (chosen, chosenScaling) = fits[best];
        var heldIn = holdIn.Select(i => chosen.Decision(chosenScaling.Apply(featuresIn[best][i]))).ToList();
        var heldOut = holdOut.Select(i => chosen.Decision(chosenScaling.Apply(featuresOut[best][i]))).ToList();
        var (finalThreshold, achieved) = DetectorMath.ThresholdAt(heldIn, targetTpr);
        return new CalibrationResult
        {
            Epsilon = epsilons[best],
            Perturbation = mode,
            Regression = chosen,
            Scaling = chosenScaling,
            Threshold = finalThreshold,
            AchievedTpr = achieved,
            Validation = OodMetrics.Compute(heldIn, heldOut, "FSSD-Ensem (held-out validation half)"),
            Curve = curve,
            InCount = inCount,
            OutCount = outCount,
        };
    }

    /// <summary>[ε][input] → the per-tap FSSD row.</summary>
    internal static double[][][] Features(EnsembleScorer scorer, IReadOnlyList<byte[]> inputs, IReadOnlyList<double> epsilons, PerturbationMode mode,
        Action<string>? progress, string what, CancellationToken cancellation, IReadOnlyList<double>? stepWeights = null)
    {
        var features = epsilons.Select(_ => new double[inputs.Count][]).ToArray();
        for (int start = 0; start < inputs.Count; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(Batch, inputs.Count - start);
            var grid = scorer.ScoreGrid(inputs.Skip(start).Take(n).ToList(), epsilons, mode, stepWeights);
            for (int e = 0; e < epsilons.Count; e++)
                for (int i = 0; i < n; i++)
                    features[e][start + i] = Enumerable.Range(0, scorer.Keys.Count).Select(k => grid[e][i, k]).ToArray();
            progress?.Invoke($"Scored {start + n} of {inputs.Count} {what} validation inputs at {epsilons.Count} value(s) of eps.");
        }
        return features;
    }

    /// <summary>A seeded split of 0..n−1 into two halves (the first gets the extra one).</summary>
    internal static (int[] First, int[] Second) Halves(int n, long seed)
    {
        var order = Shuffle.Permutation(n, seed);
        int half = (n + 1) / 2;
        return (order[..half].OrderBy(i => i).ToArray(), order[half..].OrderBy(i => i).ToArray());
    }
}
