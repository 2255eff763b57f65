using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>One method's row of a benchmark (the paper's Table 2 layout), with the paper's figures beside ours.</summary>
public sealed class FssdBenchmarkRow
{
    public string Benchmark { get; init; } = "";

    /// <summary>Which variant of the benchmark (e.g. the held-out classes' half, "in 0-4, out 5-9"); empty where it has one only.</summary>
    public string Variant { get; init; } = "";

    public string Method { get; init; } = "";

    /// <summary>AUROC; for the corrupted-copy benchmark, the mean over every corruption kind and level.</summary>
    public double AUROC { get; init; }

    /// <summary>AUPRC with in-distribution as the positive class (the paper's AUPRC).</summary>
    public double AUPRC { get; init; }

    public double AUPRCOut { get; init; }
    public double FPR80 { get; init; }
    public double FPR95 { get; init; }
    public double DetectionError { get; init; }

    /// <summary>Seconds for calibration and scoring the test inputs (training excluded).</summary>
    public double Seconds { get; init; }

    /// <summary>Seconds spent training or fine-tuning classifiers for this method (0 when cached or none).</summary>
    public double TrainingSeconds { get; init; }

    /// <summary>What calibration chose (T, ε, statistic, ...).</summary>
    public string Settings { get; init; } = "";

    public int InCount { get; init; }
    public int OutCount { get; init; }

    /// <summary>The paper's figures for this row (null where the paper has none, e.g. Energy).</summary>
    public double? PaperAUROC { get; init; }
    public double? PaperAUPRC { get; init; }
    public double? PaperFPR80 { get; init; }

    /// <summary>
    /// With -Robustness: this method's AUROC on clean and corrupted test inputs, level by level. In the
    /// corrupted-copy benchmark: its AUROC of clean against corrupted inputs per kind and level.
    /// </summary>
    public IReadOnlyList<FssdRobustnessRow> Robustness { get; set; } = Array.Empty<FssdRobustnessRow>();

    public override string ToString() => $"{Method}: AUROC {AUROC:P2}, AUPRC {AUPRC:P2}, FPR80 {FPR80:P2}";
}

/// <summary>One method's AUROC on test inputs corrupted at one level (level 0: clean).</summary>
public sealed class FssdRobustnessRow
{
    public string Benchmark { get; init; } = "";
    public string Method { get; init; } = "";

    /// <summary>GaussianNoise, ImpulseNoise, or None for the clean inputs.</summary>
    public string Corruption { get; init; } = "";

    public int Level { get; init; }

    /// <summary>σ for Gaussian noise, the share of pixels for impulse noise; 0 when clean.</summary>
    public double Severity { get; init; }

    public double AUROC { get; init; }
    public int InCount { get; init; }
    public int OutCount { get; init; }

    public override string ToString() => $"{Method} {Corruption} {Level}: AUROC {AUROC:P2}";
}

/// <summary>
/// One tap at one step of the concentration study (the paper's Figures 2 and 3): how far in-distribution
/// and OoD features are from the Feature Space Singularity, and how far and how fast they have moved.
/// </summary>
public sealed class FssdConcentrationRow
{
    public int Step { get; init; }
    public string Tap { get; init; } = "";

    /// <summary>Mean FSSD (distance to the centre of uniform-noise features at this step) of the in-distribution inputs.</summary>
    public double FssdIn { get; init; }
    public double FssdOut { get; init; }

    /// <summary>Mean distance of each input's features from its own features at step 0.</summary>
    public double MovedIn { get; init; }
    public double MovedOut { get; init; }

    /// <summary>Mean distance moved per training step since the previous recorded step (0 at step 0): the moving speed.</summary>
    public double SpeedIn { get; init; }
    public double SpeedOut { get; init; }

    /// <summary>AUROC of FSSD at this tap and step (in-distribution: larger FSSD).</summary>
    public double AUROC { get; init; }

    /// <summary>Accuracy on the held-out in-distribution inputs at this step.</summary>
    public double Accuracy { get; init; }

    public int InCount { get; init; }
    public int OutCount { get; init; }

    public override string ToString() => $"step {Step} {Tap}: FSSD in {FssdIn:G4}, out {FssdOut:G4}, AUROC {AUROC:P1}";
}
