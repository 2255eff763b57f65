using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>One tap in a detector's weighted sum: score = intercept + Σ weight·(FSSD − mean)/std.</summary>
public sealed class FssdDetectorLayer
{
    /// <summary>The tap's name in its model.</summary>
    public string Name { get; init; } = "";

    /// <summary>Which of the detector's models the tap belongs to (0 for single-model detectors).</summary>
    public int ModelIndex { get; init; }

    /// <summary>How scores name the layer: the tap name, or "model&lt;i&gt;/tap" when the detector has several models.</summary>
    public string Key { get; init; } = "";
    public double Weight { get; init; } = 1;

    /// <summary>Feature scaling: the mean and std the tap's FSSD is standardized with (0 and 1: none).</summary>
    public double Mean { get; init; }
    public double Std { get; init; } = 1;

    public override string ToString() => $"{(Key.Length > 0 ? Key : Name)} × {Weight:G4}";
}

/// <summary>One ε tried during calibration, and how well the layer ensemble did with it on held-out validation data.</summary>
public sealed class FssdEpsilonTrial
{
    public double Epsilon { get; init; }
    public PerturbationMode Perturbation { get; init; }

    /// <summary>True-negative rate (OoD rejected) at 95% TPR on the held-out half: the selection criterion.</summary>
    public double TnrAt95Tpr { get; init; }

    public double AUROC { get; init; }

    /// <summary>The regularisation cross-validation chose for this ε.</summary>
    public double C { get; init; }

    public override string ToString() => $"eps {Epsilon:G3}: TNR@95 {TnrAt95Tpr:P2}, AUROC {AUROC:P2}";
}

/// <summary>
/// Everything needed to score an input and decide: the model, its F*, the taps and their weights,
/// ε, and the threshold with the in-distribution TPR it was set for. Returned by New-FssdDetector and
/// Import-FssdDetector; written by Export-FssdDetector.
/// </summary>
public sealed class FssdDetector
{
    public const int CurrentFormatVersion = 2;

    public string Name { get; init; } = "";

    /// <summary>The models whose taps the detector combines (several: the paper's network ensembles); all share one input spec.</summary>
    public IReadOnlyList<FssdModel> Models { get; init; } = Array.Empty<FssdModel>();

    /// <summary>F* of each model, in the order of <see cref="Models"/>.</summary>
    public IReadOnlyList<FssCenter> Centers { get; init; } = Array.Empty<FssCenter>();

    /// <summary>The first model (the one whose classes PredictedClass names).</summary>
    public FssdModel Model => Models.Count > 0 ? Models[0] : new FssdModel();

    /// <summary>The first model's center.</summary>
    public FssCenter Center => Centers.Count > 0 ? Centers[0] : new FssCenter();
    public IReadOnlyList<FssdDetectorLayer> Layers { get; init; } = Array.Empty<FssdDetectorLayer>();
    public double Intercept { get; init; }
    public double Epsilon { get; init; }
    public PerturbationMode Perturbation { get; init; }

    /// <summary>Each layer its own step (PerTap), or one step for all (Shared, along <see cref="StepWeights"/>).</summary>
    public PerturbationScope PerturbationScope { get; init; }

    /// <summary>With the shared step: per layer, the weight of its FSSD in the objective the step follows; empty otherwise.</summary>
    public IReadOnlyList<double> StepWeights { get; init; } = Array.Empty<double>();

    /// <summary>Scores below it are out of distribution.</summary>
    public double Threshold { get; init; }

    /// <summary>The share of in-distribution validation inputs the threshold keeps.</summary>
    public double TargetTpr { get; init; }

    /// <summary>How the detector was calibrated (ThresholdOnly: one tap, threshold from in-distribution data alone).</summary>
    public string Calibration { get; init; } = "";

    /// <summary>What the threshold was set on.</summary>
    public string ValidationSource { get; init; } = "";
    public int ValidationCount { get; init; }

    /// <summary>The TPR the threshold actually gives on the validation inputs.</summary>
    public double ValidationTpr { get; init; }

    /// <summary>Every ε tried, with its held-out result (empty when ε was given, not searched).</summary>
    public IReadOnlyList<FssdEpsilonTrial> EpsilonCurve { get; init; } = Array.Empty<FssdEpsilonTrial>();

    /// <summary>The regularisation of the layer weights (C of the logistic regression); null without one.</summary>
    public double? RegularizationC { get; init; }

    /// <summary>The outlier-free calibration's evidence, one row per pseudo-outlier kind; empty otherwise.</summary>
    public IReadOnlyList<FssdPseudoOutlierTrial> PseudoOutliers { get; init; } = Array.Empty<FssdPseudoOutlierTrial>();

    /// <summary>Metrics on the held-out half of the validation data (against real or pseudo outliers); null for ThresholdOnly.</summary>
    public FssdMetrics? ValidationMetrics { get; init; }

    public DateTime CreatedUtc { get; init; }

    /// <summary>The file it was read from, when it was.</summary>
    public string? Path { get; init; }

    public override string ToString() => $"{Name}: {string.Join(" + ", Layers)} of {Model.Name}, threshold {Threshold:G6} at TPR {TargetTpr:P0}";
}

/// <summary>
/// The outlier-free calibration's evidence: how the finished detector treats held-out pseudo-outliers
/// of one kind (made from in-distribution validation inputs the regression never saw).
/// </summary>
public sealed class FssdPseudoOutlierTrial
{
    public string Kind { get; init; } = "";

    /// <summary>Whether this kind stood in for the OoD class in the regression.</summary>
    public bool Used { get; init; }

    /// <summary>How many held-out pseudo-outliers of this kind were scored.</summary>
    public int Count { get; init; }

    /// <summary>AUROC, held-out in-distribution inputs against these pseudo-outliers.</summary>
    public double AUROC { get; init; }

    /// <summary>The share of these pseudo-outliers below the detector's threshold.</summary>
    public double Rejected { get; init; }

    public override string ToString() => $"{Kind}{(Used ? " (used)" : "")}: AUROC {AUROC:P2}, rejected {Rejected:P2} of {Count}";
}
