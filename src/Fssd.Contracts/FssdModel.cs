using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>How a tap's feature map becomes one vector per input.</summary>
public enum TapReduction
{
    /// <summary>All values of the tap, flattened (the paper's authors' choice for LeNet).</summary>
    Flatten,

    /// <summary>The mean over the spatial positions, one value per channel (ResNet stages).</summary>
    SpatialMean,

    /// <summary>
    /// The standard deviation over the spatial positions, one value per channel: how much each channel
    /// varies across the image, its texture. Feature-space detectors read it beside the means; it needs a
    /// feature map (a vector has no spatial positions).
    /// </summary>
    SpatialStd,
}

/// <summary>Whether a model reads one gray channel or three RGB channels.</summary>
public enum ColorMode
{
    Gray,
    Rgb,
}

/// <summary>What a model expects as input: size, channels and the normalization of pixel values.</summary>
public sealed class FssdInputSpec
{
    public int Channels { get; init; } = 1;
    public int Height { get; init; } = 28;
    public int Width { get; init; } = 28;
    public ColorMode ColorMode { get; init; } = ColorMode.Gray;

    /// <summary>Pixels (0..255) are first scaled to this range, then normalized with Mean and Std.</summary>
    public double[] ValueRange { get; init; } = { 0.0, 1.0 };

    /// <summary>Per-channel mean subtracted after scaling.</summary>
    public double[] Mean { get; init; } = { 0.0 };

    /// <summary>Per-channel standard deviation divided by after subtracting the mean.</summary>
    public double[] Std { get; init; } = { 1.0 };

    public override string ToString() =>
        $"{Channels}x{Height}x{Width} {ColorMode}, [{ValueRange[0]}, {ValueRange[1]}], mean ({string.Join(", ", Mean)}), std ({string.Join(", ", Std)})";
}

/// <summary>One feature tap of a model: a layer whose features FSSD measures.</summary>
public sealed class FssdLayerInfo
{
    public string Name { get; init; } = "";
    public int FeatureSize { get; init; }
    public TapReduction Reduction { get; init; }

    public override string ToString() => $"{Name} ({FeatureSize}, {Reduction})";
}

/// <summary>
/// A trained classifier loaded into the session, with named feature taps. Returned by
/// Import-FssdModel; the network itself lives in the session's model cache under <see cref="Id"/>.
/// </summary>
public sealed class FssdModel
{
    /// <summary>The key of this model in the session's cache (content hash, options and device).</summary>
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public string Architecture { get; init; } = "";
    public string Device { get; init; } = "cpu";
    public FssdInputSpec InputSpec { get; init; } = new();
    public IReadOnlyList<FssdLayerInfo> Layers { get; init; } = Array.Empty<FssdLayerInfo>();
    /// <summary>The classes, in output order; empty for a network without a classifier head.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Whether the network ends in a classifier. A feature extractor (e.g. the pretrained ResNet18, whose
    /// output is its pooled feature) has none: FSSD scores it, but it predicts no class.
    /// </summary>
    public bool HasClassifier { get; init; } = true;

    /// <summary>The file the model was imported from (a manifest or a weights file).</summary>
    public string SourcePath { get; init; } = "";

    /// <summary>The weights (or TorchScript) file.</summary>
    public string WeightsPath { get; init; } = "";

    /// <summary>SHA-256 of the weights file, lower-case hex.</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>How long the import took, in milliseconds (0 when it came from the cache).</summary>
    public double LoadMilliseconds { get; init; }

    /// <summary>How the model was trained, when New-FssdClassifier trained it; otherwise null.</summary>
    public FssdTrainingInfo? Training { get; init; }

    public override string ToString() => $"{Name} ({Architecture}, {Device})";
}
