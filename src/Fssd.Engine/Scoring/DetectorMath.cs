using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Scoring;

/// <summary>A detector's score from tap FSSDs, and the threshold that keeps a share of in-distribution inputs.</summary>
public static class DetectorMath
{
    /// <summary>Default share of in-distribution inputs a threshold keeps (the usual TPR 95% operating point).</summary>
    public const double DefaultTargetTpr = 0.95;

    /// <summary>A detector's score: its layers' columns combined as <see cref="FssdDetector.Combination"/> says, or its one column when it has no layers.</summary>
    public static double Combine(FssdDetector detector, IReadOnlyList<double> layerScores) =>
        detector.Layers.Count == 0 ? layerScores[0] : Combine(detector.Intercept, detector.Layers, layerScores, detector.Combination);

    /// <summary>
    /// intercept + Σ weight·(score − mean)/std over the layers, in order; with <see cref="LayerCombination.Minimum"/>,
    /// intercept + the smallest weight·(score − mean)/std.
    /// </summary>
    public static double Combine(double intercept, IReadOnlyList<FssdDetectorLayer> layers, IReadOnlyList<double> layerScores,
        LayerCombination combination = LayerCombination.WeightedSum)
    {
        if (combination == LayerCombination.Minimum)
        {
            double least = double.PositiveInfinity;
            for (int i = 0; i < layers.Count; i++)
            {
                var l = layers[i];
                least = Math.Min(least, l.Weight * (layerScores[i] - l.Mean) / l.Std);
            }
            return intercept + least;
        }
        double score = intercept;
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            score += l.Weight * (layerScores[i] - l.Mean) / l.Std;
        }
        return score;
    }

    /// <summary>
    /// The largest threshold t such that at least <paramref name="tpr"/> of the scores are ≥ t
    /// (in-distribution inputs score higher): the ⌊(1 − tpr)·n⌋-th smallest score.
    /// </summary>
    public static (double Threshold, double AchievedTpr) ThresholdAt(IReadOnlyList<double> inDistribution, double tpr)
    {
        if (inDistribution.Count == 0) throw new ArgumentException("No in-distribution scores to set a threshold on.", nameof(inDistribution));
        if (tpr is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(tpr), tpr, "The target TPR is in (0, 1].");
        var sorted = inDistribution.OrderBy(s => s).ToArray();
        int index = (int)Math.Floor((1 - tpr) * sorted.Length + 1e-9);
        index = Math.Clamp(index, 0, sorted.Length - 1);
        double threshold = sorted[index];
        double achieved = (double)sorted.Count(s => s >= threshold) / sorted.Length;
        return (threshold, achieved);
    }
}
