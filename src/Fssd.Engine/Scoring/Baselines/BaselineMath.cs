using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.Baselines;

/// <summary>
/// The baselines' score functions on tensors. Every score is larger for inputs that look more
/// in-distribution, as FSSD's is, so the same metrics and thresholds apply.
/// </summary>
public static class BaselineMath
{
    /// <summary>Maximum softmax probability of logits / T, per row [N] (Base: T = 1; ODIN: T from a grid).</summary>
    public static Tensor MaxSoftmax(Tensor logits, double temperature = 1.0)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        using var scope = NewDisposeScope();
        using var t = temperature.ToScalar();
        var (values, _) = logits.div(t).softmax(1).max(1);
        return values.MoveToOuterDisposeScope();
    }

    /// <summary>The negative free energy, T · logsumexp(logits / T), per row [N]: the energy score.</summary>
    public static Tensor NegativeEnergy(Tensor logits, double temperature = 1.0)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        using var scope = NewDisposeScope();
        using var t = temperature.ToScalar();
        return logits.div(t).logsumexp(1).mul(t).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The squared Mahalanobis distance of each row of <paramref name="features"/> [N, D] to its nearest
    /// class mean (<paramref name="means"/> [K, D]) under one shared precision matrix [D, D]: [N].
    /// </summary>
    public static Tensor MinSquaredMahalanobis(Tensor features, Tensor means, Tensor precision)
    {
        using var scope = NewDisposeScope();
        var difference = features.unsqueeze(1).sub(means.unsqueeze(0));          // [N, K, D]
        var distances = difference.matmul(precision).mul(difference).sum(2);     // [N, K]
        var (values, _) = distances.min(1);
        return values.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MC Dropout's two scores from softmax outputs of T stochastic passes [T, N, K]: the largest class
    /// probability of the mean prediction, and the negative total variance (summed over classes).
    /// </summary>
    public static (Tensor Mean, Tensor NegativeVariance) MonteCarlo(Tensor probabilities)
    {
        using var scope = NewDisposeScope();
        var (mean, _) = probabilities.mean(new long[] { 0 }).max(1);
        var variance = probabilities.var(0, unbiased: false).sum(1).neg();
        return (mean.MoveToOuterDisposeScope(), variance.MoveToOuterDisposeScope());
    }
}
