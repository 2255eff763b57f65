using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>How a Feature Space Singularity was estimated.</summary>
public enum CenterSource
{
    /// <summary>Uniform noise in pixel space, U[0,1] as the paper says, through the model's own normalization.</summary>
    UniformNoise,

    /// <summary>The authors' code: integers 0..255 mapped to (v − 127.5)/255 whatever the model's normalization.</summary>
    AuthorsNoise,

    /// <summary>The mean feature of given out-of-distribution inputs (the paper's fallback).</summary>
    Inputs,
}

/// <summary>F* of one tap: the mean feature vector.</summary>
public sealed class FssCenterTap
{
    public string Name { get; init; } = "";
    public int Size { get; init; }

    /// <summary>The mean feature, one value per feature.</summary>
    public float[] Vector { get; init; } = Array.Empty<float>();

    public override string ToString() => $"{Name} ({Size})";
}

/// <summary>
/// The Feature Space Singularity F* of a model, per tap: the mean feature of noise (or of given OoD
/// inputs). FSSD measures an input's distance to it. Returned by New-FssdCenter.
/// </summary>
public sealed class FssCenter
{
    public string Model { get; init; } = "";

    /// <summary>SHA-256 of the model's weights: a center only fits the weights it was made with.</summary>
    public string ModelSha256 { get; init; } = "";

    public CenterSource Source { get; init; }

    /// <summary>How many noise images (or inputs) were averaged.</summary>
    public int Samples { get; init; }

    /// <summary>The seed of the noise; null for inputs.</summary>
    public long? Seed { get; init; }

    public IReadOnlyList<FssCenterTap> Taps { get; init; } = Array.Empty<FssCenterTap>();

    public DateTime CreatedUtc { get; init; }

    public override string ToString() => $"F* of {Model} from {Samples} {Source} samples";
}
