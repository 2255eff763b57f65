using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Metrics;
using Fssd.Engine.Scoring;

namespace Fssd.Engine.Calibration;

/// <summary>
/// Calibrates FSSD-Ensem without any real OoD data. Pseudo-outliers of every kind are made from the
/// in-distribution validation inputs. Which kind stands in for the OoD class is chosen on
/// in-distribution data alone: for each kind, a regression fitted against it (on one half) is scored
/// against every *other* kind (on the other half), and the kind whose detector transfers best wins —
/// a kind that teaches the regression something narrow (blur teaches "sharpness") transfers badly.
/// Then ε, the weights and the threshold are calibrated against the chosen kind as with real OoD data.
/// </summary>
public static class OutlierFreeCalibrator
{
    public static (CalibrationResult Result, IReadOnlyList<FssdPseudoOutlierTrial> Evidence, PseudoOutlierKind Chosen) Calibrate(
        EnsembleScorer scorer, FssdInputSpec spec, IReadOnlyList<byte[]> inDistribution, IReadOnlyList<double> epsilons, PerturbationMode mode,
        double targetTpr, long seed, Action<string>? progress, CancellationToken cancellation, IReadOnlyList<PseudoOutlierKind>? kinds = null)
    {
        kinds ??= PseudoOutliers.AllKinds;
        if (kinds.Count == 0) throw new ArgumentException("No kind of pseudo-outlier to calibrate with.", nameof(kinds));
        var zero = new[] { 0.0 };
        var pseudo = kinds.ToDictionary(k => k, k => PseudoOutliers.Make(inDistribution, k, spec.Channels, spec.Height, spec.Width, seed));
        var featuresIn = DetectorCalibrator.Features(scorer, inDistribution, zero, mode, progress, "in-distribution", cancellation)[0];
        var featuresPseudo = kinds.ToDictionary(k => k,
            k => DetectorCalibrator.Features(scorer, pseudo[k], zero, mode, progress, k.ToString(), cancellation)[0]);
        var (fit, hold) = DetectorCalibrator.Halves(inDistribution.Count, seed);

        var evidence = new List<(PseudoOutlierKind Kind, double Self, double Transfer)>();
        foreach (var k in kinds)
        {
            cancellation.ThrowIfCancellationRequested();
            var rows = fit.Select(i => featuresIn[i]).Concat(fit.Select(i => featuresPseudo[k][i])).ToList();
            var labels = fit.Select(_ => true).Concat(fit.Select(_ => false)).ToList();
            var scaling = FeatureScaling.Fit(rows);
            var (model, _) = RegularizationSearch.FitWithCrossValidation(rows.Select(scaling.Apply).ToList(), labels);
            var heldIn = hold.Select(i => model.Decision(scaling.Apply(featuresIn[i]))).ToList();
            double Auroc(PseudoOutlierKind j) =>
                OodMetrics.Compute(heldIn, hold.Select(i => model.Decision(scaling.Apply(featuresPseudo[j][i]))).ToList(), j.ToString()).AUROC;
            double self = Auroc(k);
            // With one kind given there is nothing to transfer to, and nothing to choose.
            double transfer = kinds.Count > 1 ? kinds.Where(j => j != k).Average(Auroc) : double.NaN;
            evidence.Add((k, self, transfer));
            progress?.Invoke($"Pseudo-outliers {k}: AUROC {self:P2} against itself, {transfer:P2} against the other kinds.");
        }
        var chosen = evidence.OrderByDescending(e => double.IsNaN(e.Transfer) ? 0 : e.Transfer).ThenByDescending(e => e.Self).First().Kind;
        var result = DetectorCalibrator.Calibrate(scorer, inDistribution, pseudo[chosen], epsilons, mode, targetTpr, seed, progress, cancellation, paired: true);
        var trials = evidence.Select(e => new FssdPseudoOutlierTrial
        {
            Kind = e.Kind.ToString(), SelfAUROC = e.Self, TransferAUROC = e.Transfer, Chosen = e.Kind == chosen,
        }).ToList();
        return (result, trials, chosen);
    }
}
