using System;
using System.Linq;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.Baselines;

/// <summary>
/// Class-conditional Gaussians with one shared covariance (Lee et al., 2018), fitted on training
/// features of one tap: the class means and the (pseudo-)inverse of the covariance of the features
/// about their class means, divided by N as scikit-learn's EmpiricalCovariance does. Held in float64.
/// </summary>
public sealed class ClassGaussians : IDisposable
{
    private ClassGaussians(Tensor means, Tensor precision)
    {
        Means = means;
        Precision = precision;
    }

    /// <summary>[K, D].</summary>
    public Tensor Means { get; }

    /// <summary>[D, D].</summary>
    public Tensor Precision { get; }

    public int Classes => (int)Means.shape[0];
    public int Dimension => (int)Means.shape[1];

    /// <summary>Fits on features [N, D] with labels 0..classes−1; every class needs at least one row.</summary>
    public static ClassGaussians Fit(Tensor features, long[] labels, int classes)
    {
        if (features.dim() != 2) throw new ArgumentException("Features must be [N, D].", nameof(features));
        if (labels.Length != features.shape[0]) throw new ArgumentException($"{labels.Length} labels for {features.shape[0]} feature rows.", nameof(labels));
        var counts = new long[classes];
        foreach (var l in labels)
        {
            if (l < 0 || l >= classes) throw new ArgumentException($"Label {l} is outside 0..{classes - 1}.", nameof(labels));
            counts[l]++;
        }
        int empty = Array.IndexOf(counts, 0L);
        if (empty >= 0) throw new ArgumentException($"Class {empty} has no training features.", nameof(labels));

        using var scope = NewDisposeScope();
        var x = features.to_type(ScalarType.Float64);
        var index = tensor(labels, device: x.device);
        var sums = zeros(classes, x.shape[1], dtype: ScalarType.Float64, device: x.device).index_add_(0, index, x, Runtime.HeldScalars.One);
        var means = sums.div(tensor(counts.Select(c => (double)c).ToArray(), device: x.device).unsqueeze(1));
        var centered = x.sub(means.index_select(0, index));
        using var n = ((double)x.shape[0]).ToScalar();
        var covariance = centered.t().matmul(centered).div(n);
        var precision = linalg.pinv(covariance, hermitian: true);
        return new ClassGaussians(means.MoveToOuterDisposeScope(), precision.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Fits one Gaussian, no classes, on features [N, D] (N ≥ 2): their mean and the inverse of the
    /// Ledoit–Wolf shrunk covariance (1 − ρ)·S + ρ·(tr S / D)·I, with S the covariance about the mean
    /// divided by N and ρ the shrinkage Ledoit and Wolf (2004) derive:
    /// ρ = min(b², d²) / d², d² = ‖S − (tr S / D)·I‖²_F / D, b² = (Σₖ ‖xₖ‖⁴ − N‖S‖²_F) / (N² D), xₖ centred.
    /// With fewer inputs than dimensions S is singular; the shrinkage makes it invertible.
    /// </summary>
    public static (ClassGaussians Gaussian, double Shrinkage) FitShrunk(Tensor features)
    {
        if (features.dim() != 2) throw new ArgumentException("Features must be [N, D].", nameof(features));
        long n = features.shape[0], d = features.shape[1];
        if (n < 2) throw new FssdDataException($"A Gaussian needs at least 2 fitted features; it has {n}.");
        using var scope = NewDisposeScope();
        var x = features.to_type(ScalarType.Float64);
        var mean = x.mean(new long[] { 0 }, keepdim: true);
        var centered = x.sub(mean);
        using var count = ((double)n).ToScalar();
        var covariance = centered.t().matmul(centered).div(count);
        double mu = covariance.trace().item<double>() / d;
        var identity = eye(d, dtype: ScalarType.Float64, device: x.device);
        using var muScalar = mu.ToScalar();
        // Squares as products: TorchSharp's square() makes a Scalar nothing holds (the IL test says which calls do).
        var deviation = covariance.sub(identity.mul(muScalar));
        double dispersion = deviation.mul(deviation).sum().item<double>() / d;
        var rowSquares = centered.mul(centered).sum(1);
        double fourth = rowSquares.mul(rowSquares).sum().item<double>();
        double spread = (fourth - n * covariance.mul(covariance).sum().item<double>()) / ((double)n * n * d);
        double shrinkage = dispersion <= 0 ? 1.0 : Math.Clamp(Math.Min(spread, dispersion) / dispersion, 0.0, 1.0);
        using var keep = (1 - shrinkage).ToScalar();
        using var towards = (shrinkage * mu).ToScalar();
        var shrunk = covariance.mul(keep).add(identity.mul(towards), HeldScalars.One);
        var precision = linalg.pinv(shrunk, hermitian: true);
        return (new ClassGaussians(mean.MoveToOuterDisposeScope(), precision.MoveToOuterDisposeScope()), shrinkage);
    }

    /// <summary>The Mahalanobis confidence score, −min_k (x − μ_k)ᵀ Σ⁻¹ (x − μ_k), of features [N, D]: [N] (float64).</summary>
    public Tensor Score(Tensor features)
    {
        using var scope = NewDisposeScope();
        var x = features.to_type(ScalarType.Float64);
        return BaselineMath.MinSquaredMahalanobis(x, Means, Precision).neg().MoveToOuterDisposeScope();
    }

    /// <summary>The fitted statistics as plain data, for a detector to carry and a file to keep.</summary>
    public FssdClassGaussians ToData(int modelIndex, string tap)
    {
        using var means = Means.to_type(ScalarType.Float64).cpu().contiguous();
        using var precision = Precision.to_type(ScalarType.Float64).cpu().contiguous();
        return new FssdClassGaussians
        {
            ModelIndex = modelIndex, Tap = tap, Classes = Classes, Dimension = Dimension,
            Means = means.data<double>().ToArray(), Precision = precision.data<double>().ToArray(),
        };
    }

    /// <summary>Rebuilds the Gaussians from a detector's data on <paramref name="device"/>.</summary>
    public static ClassGaussians FromData(FssdClassGaussians data, Device device)
    {
        if (data.Classes < 1 || data.Dimension < 1 || data.Means.LongLength != (long)data.Classes * data.Dimension
            || data.Precision.LongLength != (long)data.Dimension * data.Dimension)
            throw new FssdModelException($"The class Gaussians of tap '{data.Tap}' do not have the declared {data.Classes} x {data.Dimension} shape.");
        var means = tensor(data.Means, new long[] { data.Classes, data.Dimension }, device: device);
        var precision = tensor(data.Precision, new long[] { data.Dimension, data.Dimension }, device: device);
        // Owned by the Gaussians, not by whatever dispose scope the caller is in.
        return new ClassGaussians(means.DetachFromDisposeScope(), precision.DetachFromDisposeScope());
    }

    public void Dispose()
    {
        Means.Dispose();
        Precision.Dispose();
    }
}
