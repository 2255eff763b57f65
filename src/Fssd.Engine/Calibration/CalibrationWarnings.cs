using System;
using System.Collections.Generic;
using Fssd;

namespace Fssd.Engine.Calibration;

/// <summary>
/// What a finished detector's own numbers say about how far to trust it: a threshold set on too few
/// in-distribution inputs, and a held-out AUROC near chance. Calibration still returns the detector;
/// these are warnings for the person who made it.
/// </summary>
public static class CalibrationWarnings
{
    /// <summary>Held-out AUROC at or below this is reported as near chance.</summary>
    public const double NearChanceAuroc = 0.6;

    /// <summary>
    /// Expected rejections among the inputs a threshold is set on, at the least: with r expected
    /// rejections the kept share's binomial standard error is about √r / n, so 10 keeps a 95% target
    /// within about ±1.5 points.
    /// </summary>
    public const int ExpectedRejections = 10;

    /// <summary>In-distribution inputs a threshold at <paramref name="targetTpr"/> needs to hold within about ±1.5 points (200 at 95%).</summary>
    public static int InputsNeeded(double targetTpr) =>
        targetTpr >= 1 ? int.MaxValue : (int)Math.Ceiling(ExpectedRejections / (1 - targetTpr) - 1e-9);

    /// <summary>The warnings for <paramref name="detector"/>, in words that say what to do; empty when none apply.</summary>
    public static IReadOnlyList<string> For(FssdDetector detector)
    {
        var warnings = new List<string>();
        int needed = InputsNeeded(detector.TargetTpr);
        var held = detector.ValidationMetrics;
        // Ensembles set their threshold on the held-out half; a threshold-only detector on all its inputs.
        int thresholdInputs = held?.InCount ?? detector.ValidationCount;
        if (needed != int.MaxValue && thresholdInputs < needed)
        {
            int give = held is null ? needed : 2 * needed;
            warnings.Add($"The threshold of '{detector.Name}' rests on {thresholdInputs} in-distribution input(s); a {detector.TargetTpr:P0} target " +
                $"needs at least {needed} for the share kept on new data to stay within about ±1.5 points. " +
                $"Give at least {give} in-distribution files{(held is null ? "" : " (half of them fit the weights, half set the threshold)")}.");
        }
        if (held is not null && held.AUROC <= NearChanceAuroc)
        {
            warnings.Add($"'{detector.Name}' separates its held-out validation inputs barely better than chance (AUROC {held.AUROC:P1} " +
                $"on {held.InCount} in-distribution and {held.OutCount} {(detector.Calibration == CalibrationKind.OutlierFree ? "pseudo-outlier" : "out-of-distribution")} inputs): " +
                "its verdicts will be close to random. Try other taps (-Layer), more validation data, or a model trained on the in-distribution classes.");
        }
        return warnings;
    }
}
