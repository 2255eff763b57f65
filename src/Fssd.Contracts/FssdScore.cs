using System;
using System.Collections.Specialized;

namespace Fssd;

/// <summary>How the input is perturbed before it is scored (the paper's Algorithm 1, or the authors' code).</summary>
public enum PerturbationMode
{
    /// <summary>
    /// The paper's formula: x̃ = x + ε·sign(∇ₓ FSSD(x)), with ε in pixel units (the step in the
    /// normalized input is ε/std of each channel).
    /// </summary>
    Sign,

    /// <summary>
    /// The authors' code: x̃ = x − ε·g, where g is the FSSD gradient standardized over the batch
    /// (minus its mean, over its unbiased std) and divided by each channel's normalization std.
    /// </summary>
    Standardized,
}

/// <summary>Which gradient each layer's input step follows when ε ≠ 0.</summary>
public enum PerturbationScope
{
    /// <summary>Each layer its own step, along its own FSSD's gradient (the authors' code): a forward, a backward and a forward per layer.</summary>
    PerTap,

    /// <summary>
    /// One step for all of a model's layers, along the gradient of their weighted sum Σ w_j·FSSD_j (the
    /// weights: the layer ensemble's at ε = 0): one forward, one backward and one forward per batch.
    /// </summary>
    Shared,
}

/// <summary>
/// The FSSD score of one input. A small score means close to the Feature Space Singularity, i.e.
/// out of distribution. Returned by Measure-Fssd, one per input, in input order.
/// </summary>
public sealed class FssdScore
{
    /// <summary>The file scored (Move-Item and Copy-Item bind to it).</summary>
    public string Path { get; init; } = "";

    /// <summary>The FSSD of the chosen tap, or the detector's weighted sum.</summary>
    public double Score { get; init; }

    /// <summary>Score below the threshold; null when no threshold is known (no detector).</summary>
    public bool? IsOutOfDistribution { get; init; }

    public double? Threshold { get; init; }

    /// <summary>Tap name → FSSD at that tap, in tap order.</summary>
    public OrderedDictionary LayerScores { get; init; } = new();

    /// <summary>The model's class for the unperturbed input; null when the model has no classifier.</summary>
    public string? PredictedClass { get; init; }

    /// <summary>The largest softmax probability of the unperturbed input; null when the model has no classifier.</summary>
    public double? Confidence { get; init; }

    public string Model { get; init; } = "";

    /// <summary>What scored it: FSSD, or a baseline's name (Measure-Fssd -Baseline).</summary>
    public string Method { get; init; } = "FSSD";

    public override string ToString() => $"{Path}: {Score:G6}";
}
