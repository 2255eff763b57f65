using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>How well a classifier labels one class of a dataset.</summary>
public sealed class FssdClassAccuracy
{
    public int Label { get; init; }
    public string ClassName { get; init; } = "";
    public int Count { get; init; }
    public int Correct { get; init; }

    /// <summary>Correct / Count; NaN when the dataset holds no sample of this class.</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;

    public override string ToString() => $"{ClassName}: {Accuracy:P2}";
}

/// <summary>A classifier's top-1 accuracy on a labelled dataset. Returned by Measure-FssdAccuracy.</summary>
public sealed class FssdAccuracy
{
    public string Model { get; init; } = "";
    public string Dataset { get; init; } = "";
    public int Count { get; init; }
    public int Correct { get; init; }

    /// <summary>Correct / Count, in [0, 1].</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;

    public IReadOnlyList<FssdClassAccuracy> PerClass { get; init; } = Array.Empty<FssdClassAccuracy>();

    /// <summary>Samples skipped because they could not be read.</summary>
    public int Skipped { get; init; }

    public double Seconds { get; init; }

    public override string ToString() => $"{Model} on {Dataset}: {Accuracy:P2} ({Correct}/{Count})";
}

/// <summary>A classifier's answer for one input. Returned by Get-FssdPrediction.</summary>
public sealed class FssdPrediction
{
    /// <summary>The image file, when the input was one (named as on a FileInfo, so that it pipes literally into Move-Item).</summary>
    public string? FullName { get; init; }

    public string Source { get; init; } = "";
    public string PredictedClass { get; init; } = "";
    public int PredictedLabel { get; init; }

    /// <summary>The largest softmax probability.</summary>
    public double Confidence { get; init; }

    /// <summary>The true label's class name, when the input had one.</summary>
    public string? TrueClass { get; init; }

    public string Model { get; init; } = "";

    public override string ToString() => $"{Source}: {PredictedClass} ({Confidence:P1})";
}

/// <summary>One finished training epoch.</summary>
public sealed class FssdEpochResult
{
    public int Epoch { get; init; }

    /// <summary>Mean training cross-entropy over the epoch's batches.</summary>
    public double Loss { get; init; }

    /// <summary>Top-1 accuracy on the held-out data after the epoch.</summary>
    public double Accuracy { get; init; }

    public double LearningRate { get; init; }
    public double Seconds { get; init; }

    public override string ToString() => $"epoch {Epoch}: loss {Loss:F4}, accuracy {Accuracy:P2}, {Seconds:F1} s";
}

/// <summary>How a model was trained by New-FssdClassifier: the recipe and each epoch's result.</summary>
public sealed class FssdTrainingInfo
{
    public string Dataset { get; init; } = "";
    public int TrainingCount { get; init; }
    public string ValidationDataset { get; init; } = "";
    public int ValidationCount { get; init; }
    public int EpochsRequested { get; init; }
    public int BatchSize { get; init; }
    public string Optimizer { get; init; } = "";
    public double LearningRate { get; init; }
    public string Schedule { get; init; } = "";
    public long Seed { get; init; }
    public bool Augmented { get; init; }
    public int Threads { get; init; }
    public IReadOnlyList<FssdEpochResult> Epochs { get; init; } = Array.Empty<FssdEpochResult>();

    /// <summary>True when training stopped (Ctrl+C) before the epochs requested were done.</summary>
    public bool Interrupted { get; init; }

    /// <summary>The weights training started from (fine-tuning); empty for a fresh initialisation.</summary>
    public string FineTunedFrom { get; init; } = "";

    /// <summary>Outlier exposure: the auxiliary outlier set and its size; empty when none was used.</summary>
    public string OutlierDataset { get; init; } = "";
    public int OutlierCount { get; init; }

    /// <summary>Outlier exposure's λ (0 when none was used).</summary>
    public double OutlierWeight { get; init; }

    public override string ToString() => $"{Epochs.Count}/{EpochsRequested} epochs of {Dataset}, {Optimizer}, seed {Seed}";
}
