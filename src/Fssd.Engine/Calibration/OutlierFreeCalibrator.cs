using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Metrics;
using Fssd.Engine.Scoring;

namespace Fssd.Engine.Calibration;

/// <summary>
/// Calibrates FSSD-Ensem without any real OoD data. Pseudo-outliers made from the in-distribution
/// validation inputs — by default patch shuffles at three cell sizes, dealt out in equal shares, one per
/// input — stand in for the OoD class; ε, the weights and the threshold are then calibrated against them
/// as against real OoD data, paired so that the threshold is set on inputs the regression never saw,
/// nor anything made from them. The set of kinds is fixed by design, not chosen per run: choosing among
/// kinds by how well a detector fitted on one rejects the others picked pixel shuffles, which fail on
/// real OoD sets (docs/benchmarks.md, "Calibrations of FSSD-Ensem"). As evidence, the finished detector is checked against
/// held-out pseudo-outliers of every kind, including those it was not fitted on.
/// </summary>
public static class OutlierFreeCalibrator
{
    /// <summary>
    /// The outlier-free ε grid: small steps only. Pseudo-outliers reward large steps that real OoD data
    /// does not (on the design set, ε = −0.05 cost ten points of AUROC).
    /// </summary>
    public static IReadOnlyList<double> DefaultGrid { get; } = new[] { 0.0, 0.01, -0.01, 0.02, -0.02 };

    public static (CalibrationResult Result, IReadOnlyList<FssdPseudoOutlierTrial> Evidence) Calibrate(
        EnsembleScorer scorer, FssdInputSpec spec, IReadOnlyList<byte[]> inDistribution, IReadOnlyList<double> epsilons, PerturbationMode mode,
        double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation, IReadOnlyList<PseudoOutlierKind>? kinds = null,
        PerturbationScope scope = PerturbationScope.PerTap)
    {
        kinds = (kinds ?? PseudoOutliers.DefaultKinds).Distinct().ToList();
        if (kinds.Count == 0) throw new ArgumentException("No kind of pseudo-outlier to calibrate with.", nameof(kinds));
        var (pseudo, _) = PseudoOutliers.MakeMixture(inDistribution, kinds, spec.Channels, spec.Height, spec.Width, seed);
        var result = DetectorCalibrator.Calibrate(scorer, inDistribution, pseudo, epsilons, mode, targetTpr, seed, progress, cancellation, paired: true, scope);

        // Evidence: the finished detector against fresh pseudo-outliers of every kind, made from the held-out half.
        var (_, hold) = DetectorCalibrator.Halves(inDistribution.Count, seed);
        var heldInputs = hold.Select(i => inDistribution[i]).ToList();
        var epsilon = new[] { result.Epsilon };
        double Decision(double[] row) => result.Regression.Decision(result.Scaling.Apply(row));
        var heldIn = DetectorCalibrator.Features(scorer, heldInputs, epsilon, mode, progress, "held-out in-distribution", cancellation, result.SharedStepWeights)[0]
            .Select(Decision).ToList();
        var evidence = new List<FssdPseudoOutlierTrial>();
        foreach (var kind in PseudoOutliers.AllKinds)
        {
            cancellation.ThrowIfCancellationRequested();
            var made = PseudoOutliers.Make(heldInputs, kind, spec.Channels, spec.Height, spec.Width, seed + 1);
            var scores = DetectorCalibrator.Features(scorer, made, epsilon, mode, progress, kind.ToString(), cancellation, result.SharedStepWeights)[0].Select(Decision).ToList();
            var metrics = OodMetrics.Compute(heldIn, scores, kind.ToString());
            var trial = new FssdPseudoOutlierTrial
            {
                Kind = kind.ToString(),
                Used = kinds.Contains(kind),
                Count = scores.Count,
                AUROC = metrics.AUROC,
                Rejected = (double)scores.Count(s => s < result.Threshold) / scores.Count,
            };
            evidence.Add(trial);
            progress?.Invoke($"Held-out {trial}");
        }
        return (result, evidence);
    }
}
