using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>One tap in a detector's combination: score = intercept + Σ weight·(FSSD − mean)/std (or the smallest (score − mean)/std, see <see cref="LayerCombination"/>).</summary>
public sealed class FssdDetectorLayer
{
    /// <summary>The tap's name in its model.</summary>
    public string Name { get; init; } = "";

    /// <summary>
    /// The method that scores this layer when it is not the detector's own: <see cref="DetectorMethod.Knn"/> for the
    /// neighbour layers an FSSD detector may carry beside its FSSD layers (after them, keys prefixed
    /// <see cref="NeighborPrefix"/>); null: the detector's method.
    /// </summary>
    public DetectorMethod? Method { get; init; }

    /// <summary>How the layer reduces the tap's map, when not as the tap itself does (feature-space detectors: <see cref="TapReduction.SpatialStd"/>); null: the tap's own reduction.</summary>
    public TapReduction? Reduction { get; init; }

    /// <summary>Which of the detector's models the tap belongs to (0 for single-model detectors).</summary>
    public int ModelIndex { get; init; }

    /// <summary>How scores name the layer: the tap name, or "model&lt;i&gt;/tap" when the detector has several models.</summary>
    public string Key { get; init; } = "";
    public double Weight { get; init; } = 1;

    /// <summary>Feature scaling: the mean and std the tap's FSSD is standardized with (0 and 1: none).</summary>
    public double Mean { get; init; }
    public double Std { get; init; } = 1;

    public override string ToString() => $"{(Key.Length > 0 ? Key : Name)} × {Weight:G4}";

    /// <summary>The suffix of a layer's key when it reads the tap's spatial standard deviations.</summary>
    public const string SpatialStdSuffix = "_std";

    /// <summary>The prefix of a Knn layer's key in an FSSD detector ("knn_fc1"), so that it never meets an FSSD layer's key.</summary>
    public const string NeighborPrefix = "knn_";
}

/// <summary>How a detector turns its layers' standardized scores into one score.</summary>
public enum LayerCombination
{
    /// <summary>intercept + Σ weight·(score − mean)/std: the layer ensembles' regression, or equal weights.</summary>
    WeightedSum,

    /// <summary>
    /// intercept + the smallest (score − mean)/std: an input is as unusual as its most unusual layer, so one
    /// layer that finds it far from every fitted input is enough (feature-space detectors' default).
    /// </summary>
    Minimum,
}

/// <summary>
/// One setting calibration tried — an ε for FSSD and Mahalanobis, a temperature and ε for ODIN, a statistic
/// for MC Dropout — and how the detector did with it on held-out validation data.
/// </summary>
public sealed class FssdCalibrationTrial
{
    public double Epsilon { get; init; }
    public PerturbationMode Perturbation { get; init; }

    /// <summary>Softmax temperature (ODIN); 1 where the method has none.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>MC Dropout's statistic; null for the other methods.</summary>
    public MonteCarloStatistic? Statistic { get; init; }

    /// <summary>True-negative rate (OoD rejected) at 95% TPR on the held-out half: the selection criterion.</summary>
    public double TnrAt95Tpr { get; init; }

    public double AUROC { get; init; }

    /// <summary>The regularisation cross-validation chose for this setting (layer ensembles); null otherwise.</summary>
    public double? C { get; init; }

    /// <summary>Whether calibration chose this setting.</summary>
    public bool Chosen { get; init; }

    public override string ToString() =>
        $"eps {Epsilon:G3}{(Temperature != 1 ? $", T {Temperature:G4}" : "")}{(Statistic is { } s ? $", {s}" : "")}: TNR@95 {TnrAt95Tpr:P2}, AUROC {AUROC:P2}{(Chosen ? " (chosen)" : "")}";
}

/// <summary>
/// Mahalanobis's class-conditional Gaussians at one tap (Lee et al., 2018): the class means and the
/// inverse of the shared covariance, fitted on training features, in float64.
/// </summary>
public sealed class FssdClassGaussians
{
    /// <summary>Which of the detector's models the tap belongs to.</summary>
    public int ModelIndex { get; init; }

    public string Tap { get; init; } = "";
    public int Classes { get; init; }
    public int Dimension { get; init; }

    /// <summary>[Classes × Dimension], row by row.</summary>
    public double[] Means { get; init; } = Array.Empty<double>();

    /// <summary>[Dimension × Dimension], row by row.</summary>
    public double[] Precision { get; init; } = Array.Empty<double>();

    public override string ToString() => $"{Tap}: {Classes} classes in {Dimension} dimensions";
}

/// <summary>
/// The k-nearest-neighbour detector's fitted features at one tap: L2-normalised in-distribution features,
/// [Count × Dimension] row by row, in float32 (at most <c>MaxRows</c> of them; beyond that a seeded
/// subsample of the fitted inputs).
/// </summary>
public sealed class FssdFeatureBank
{
    /// <summary>Which of the detector's models the tap belongs to.</summary>
    public int ModelIndex { get; init; }

    public string Tap { get; init; } = "";

    /// <summary>The reduction the features were taken with, when not the tap's own (as the bank's layer says); null: the tap's own.</summary>
    public TapReduction? Reduction { get; init; }

    public int Count { get; init; }
    public int Dimension { get; init; }

    /// <summary>[Count × Dimension], row by row, each row of unit length.</summary>
    public float[] Features { get; init; } = Array.Empty<float>();

    public override string ToString() => $"{Tap}{(Reduction is null ? "" : $" ({Reduction})")}: {Count} features of {Dimension}";
}

/// <summary>
/// Everything needed to score an input and decide: the method, the models, what calibration fitted (FSSD's
/// F* and tap weights, Mahalanobis's class Gaussians, ODIN's temperature and step, …), and the threshold
/// with the in-distribution TPR it was set for. Returned by New-FssdDetector, New-FssdBaseline and
/// Import-FssdDetector; written by Export-FssdDetector; Measure-Fssd -Detector scores with any of them.
/// </summary>
public sealed record FssdDetector
{
    /// <summary>The newest detector file format this module reads; it writes 3 only where a detector needs it (a layer's own reduction, or the Minimum combination), 2 otherwise.</summary>
    public const int CurrentFormatVersion = 3;

    public string Name { get; init; } = "";

    /// <summary>How the detector scores: FSSD, or one of the paper's baselines.</summary>
    public DetectorMethod Method { get; init; } = DetectorMethod.FSSD;

    /// <summary>The models whose taps the detector combines (several: the paper's network ensembles, or a deep ensemble); all share one input spec.</summary>
    public IReadOnlyList<FssdModel> Models { get; init; } = Array.Empty<FssdModel>();

    /// <summary>FSSD: F* of each model, in the order of <see cref="Models"/>; empty for the other methods.</summary>
    public IReadOnlyList<FssCenter> Centers { get; init; } = Array.Empty<FssCenter>();

    /// <summary>The first model (the one whose classes PredictedClass names).</summary>
    public FssdModel Model => Models.Count > 0 ? Models[0] : new FssdModel();

    /// <summary>The first model's center (FSSD).</summary>
    public FssCenter Center => Centers.Count > 0 ? Centers[0] : new FssCenter();

    /// <summary>The taps combined into the score (FSSD, Mahalanobis): score = intercept + Σ weight·(column − mean)/std. Empty: one score column.</summary>
    public IReadOnlyList<FssdDetectorLayer> Layers { get; init; } = Array.Empty<FssdDetectorLayer>();
    public double Intercept { get; init; }

    /// <summary>How the layers' standardized scores make one score: a weighted sum (every method but the feature-space default), or their minimum.</summary>
    public LayerCombination Combination { get; init; }

    /// <summary>The input step (FSSD, ODIN, Mahalanobis); 0: none.</summary>
    public double Epsilon { get; init; }
    public PerturbationMode Perturbation { get; init; }

    /// <summary>FSSD: each layer its own step (PerTap), or one step for all (Shared, along <see cref="StepWeights"/>).</summary>
    public PerturbationScope PerturbationScope { get; init; }

    /// <summary>With the shared step: per layer, the weight of its FSSD in the objective the step follows; empty otherwise.</summary>
    public IReadOnlyList<double> StepWeights { get; init; } = Array.Empty<double>();

    /// <summary>ODIN's softmax temperature; 1 for the other methods.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>MC Dropout: the statistic and the number of stochastic passes; null and 0 otherwise.</summary>
    public MonteCarloStatistic? Statistic { get; init; }
    public int Passes { get; init; }

    /// <summary>Mahalanobis: the class Gaussians of each layer, in layer order (Gaussian: one class per layer); empty otherwise.</summary>
    public IReadOnlyList<FssdClassGaussians> Gaussians { get; init; } = Array.Empty<FssdClassGaussians>();

    /// <summary>Knn: the fitted features of each layer, in layer order (an FSSD detector: of each Knn layer); empty otherwise.</summary>
    public IReadOnlyList<FssdFeatureBank> Banks { get; init; } = Array.Empty<FssdFeatureBank>();

    /// <summary>Knn (and an FSSD detector's Knn layers): k, the rank of the neighbour whose distance is the score; 0 otherwise.</summary>
    public int Neighbors { get; init; }

    /// <summary>Scores below it are out of distribution.</summary>
    public double Threshold { get; init; }

    /// <summary>The share of in-distribution validation inputs the threshold keeps.</summary>
    public double TargetTpr { get; init; }

    /// <summary>What the weights, step and threshold were set on.</summary>
    public CalibrationKind Calibration { get; init; }

    /// <summary>Outlier-free calibration: the kinds of pseudo-outlier that stood in for OoD data; empty otherwise.</summary>
    public IReadOnlyList<PseudoOutlierKind> PseudoOutlierKinds { get; init; } = Array.Empty<PseudoOutlierKind>();

    /// <summary>What the threshold was set on.</summary>
    public string ValidationSource { get; init; } = "";
    public int ValidationCount { get; init; }

    /// <summary>What fitted statistics came from (Mahalanobis: the training set); empty otherwise.</summary>
    public string TrainingSource { get; init; } = "";

    /// <summary>The TPR the threshold actually gives on the validation inputs.</summary>
    public double ValidationTpr { get; init; }

    /// <summary>Every setting calibration tried, with its held-out result (empty when nothing was searched).</summary>
    public IReadOnlyList<FssdCalibrationTrial> Trials { get; init; } = Array.Empty<FssdCalibrationTrial>();

    /// <summary>The regularisation of the layer weights (C of the logistic regression); null without one.</summary>
    public double? RegularizationC { get; init; }

    /// <summary>The outlier-free calibration's evidence, one row per pseudo-outlier kind; empty otherwise.</summary>
    public IReadOnlyList<FssdPseudoOutlierTrial> PseudoOutliers { get; init; } = Array.Empty<FssdPseudoOutlierTrial>();

    /// <summary>Metrics on the held-out half of the validation data (against real or pseudo outliers); null for ThresholdOnly.</summary>
    public FssdMetrics? ValidationMetrics { get; init; }

    /// <summary>Seconds calibration took (fitting statistics not included).</summary>
    public double CalibrationSeconds { get; init; }

    public DateTime CreatedUtc { get; init; }

    /// <summary>The file it was read from, when it was.</summary>
    public string? Path { get; init; }

    public override string ToString() => Method switch
    {
        DetectorMethod.FSSD => $"{Name}: {string.Join(" + ", Layers)} of {Model.Name}, threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        DetectorMethod.ODIN => $"{Name}: ODIN on {Model.Name}, T {Temperature:G4}, eps {Epsilon:G3}, threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        DetectorMethod.Mahalanobis => $"{Name}: Mahalanobis on {Model.Name} ({string.Join(" + ", Layers)}), eps {Epsilon:G3}, threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        DetectorMethod.Knn => $"{Name}: Knn (k {Neighbors}) on {Model.Name} ({(Combination == LayerCombination.Minimum ? "least of " + string.Join(", ", System.Linq.Enumerable.Select(Layers, l => l.Key)) : string.Join(" + ", Layers))}), threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        DetectorMethod.Gaussian => $"{Name}: Gaussian on {Model.Name} ({string.Join(" + ", Layers)}), threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        DetectorMethod.MCDropout => $"{Name}: MCDropout on {Model.Name}, {Statistic} of {Passes} passes, threshold {Threshold:G6} at TPR {TargetTpr:P0}",
        _ => $"{Name}: {Method} on {string.Join(", ", System.Linq.Enumerable.Select(Models, m => m.Name))}, threshold {Threshold:G6} at TPR {TargetTpr:P0}",
    };
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
