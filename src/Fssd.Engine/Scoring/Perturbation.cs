namespace Fssd.Engine.Scoring;

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
