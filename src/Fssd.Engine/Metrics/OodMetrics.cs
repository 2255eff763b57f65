using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Metrics;

/// <summary>One point of a ROC curve.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>
/// Detection metrics with scikit-learn's definitions (roc_curve with drop_intermediate=False,
/// roc_auc_score, average_precision_score), ties included: all samples sharing a score enter the
/// curve at one threshold.
/// </summary>
public static class OodMetrics
{
    /// <summary>In-distribution inputs are the positive class and are expected to score higher.</summary>
    public static FssdMetrics Compute(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution, string method)
    {
        if (inDistribution.Count == 0) throw new ArgumentException("There are no in-distribution scores.", nameof(inDistribution));
        if (outOfDistribution.Count == 0) throw new ArgumentException("There are no out-of-distribution scores.", nameof(outOfDistribution));
        if (inDistribution.Concat(outOfDistribution).Any(double.IsNaN)) throw new ArgumentException("A score is NaN.");
        var curve = Roc(inDistribution, outOfDistribution);
        return new FssdMetrics
        {
            Method = method,
            AUROC = Auc(curve),
            AUPRCIn = AveragePrecision(inDistribution, outOfDistribution),
            AUPRCOut = AveragePrecision(outOfDistribution.Select(s => -s).ToArray(), inDistribution.Select(s => -s).ToArray()),
            FPR80 = FprAtTpr(curve, 0.80),
            FPR95 = FprAtTpr(curve, 0.95),
            DetectionError = curve.Min(p => 0.5 * (1 - p.TruePositiveRate) + 0.5 * p.FalsePositiveRate),
            InCount = inDistribution.Count,
            OutCount = outOfDistribution.Count,
        };
    }

    /// <summary>
    /// The share of OoD inputs rejected (scored below the threshold) when the threshold keeps
    /// <paramref name="tpr"/> of the in-distribution inputs (<see cref="Scoring.DetectorMath.ThresholdAt"/>):
    /// the true-negative rate at that TPR, the criterion calibration chooses settings by.
    /// </summary>
    public static double TnrAtTpr(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution, double tpr)
    {
        if (outOfDistribution.Count == 0) throw new ArgumentException("There are no out-of-distribution scores.", nameof(outOfDistribution));
        var (threshold, _) = Scoring.DetectorMath.ThresholdAt(inDistribution, tpr);
        return (double)outOfDistribution.Count(s => s < threshold) / outOfDistribution.Count;
    }

    /// <summary>The ROC curve from (0, 0) through one point per distinct score, highest first.</summary>
    public static IReadOnlyList<RocPoint> Roc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        var (scores, tps, fps) = Cumulative(positives, negatives);
        var points = new List<RocPoint>(scores.Count + 1) { new(double.PositiveInfinity, 0, 0) };
        double p = positives.Count, n = negatives.Count;
        for (int i = 0; i < scores.Count; i++) points.Add(new RocPoint(scores[i], fps[i] / n, tps[i] / p));
        return points;
    }

    /// <summary>Trapezoidal area under the curve.</summary>
    public static double Auc(IReadOnlyList<RocPoint> curve)
    {
        double area = 0;
        for (int i = 1; i < curve.Count; i++)
            area += (curve[i].FalsePositiveRate - curve[i - 1].FalsePositiveRate) * (curve[i].TruePositiveRate + curve[i - 1].TruePositiveRate) / 2;
        return area;
    }

    /// <summary>The FPR at the first point (from the highest threshold down) whose TPR reaches <paramref name="tpr"/>.</summary>
    public static double FprAtTpr(IReadOnlyList<RocPoint> curve, double tpr)
    {
        foreach (var point in curve)
            if (point.TruePositiveRate >= tpr) return point.FalsePositiveRate;
        return 1.0;
    }

    /// <summary>Σ (R_k − R_{k−1}) P_k over the distinct scores, highest first.</summary>
    public static double AveragePrecision(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        var (_, tps, fps) = Cumulative(positives, negatives);
        double total = positives.Count, previousRecall = 0, ap = 0;
        for (int i = 0; i < tps.Count; i++)
        {
            double recall = tps[i] / total;
            double precision = tps[i] / (tps[i] + fps[i]);
            ap += (recall - previousRecall) * precision;
            previousRecall = recall;
        }
        return ap;
    }

    /// <summary>Distinct scores, highest first, with the positives and negatives at or above each.</summary>
    private static (List<double> Scores, List<double> Tps, List<double> Fps) Cumulative(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        var all = new (double Score, bool Positive)[positives.Count + negatives.Count];
        for (int i = 0; i < positives.Count; i++) all[i] = (positives[i], true);
        for (int i = 0; i < negatives.Count; i++) all[positives.Count + i] = (negatives[i], false);
        Array.Sort(all, (a, b) => b.Score.CompareTo(a.Score));
        var scores = new List<double>();
        var tps = new List<double>();
        var fps = new List<double>();
        double tp = 0, fp = 0;
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i].Positive) tp++; else fp++;
            if (i == all.Length - 1 || all[i + 1].Score != all[i].Score)
            {
                scores.Add(all[i].Score);
                tps.Add(tp);
                fps.Add(fp);
            }
        }
        return (scores, tps, fps);
    }
}
