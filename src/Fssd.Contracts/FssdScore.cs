using System;
using System.Collections;
using System.Collections.Specialized;
using System.Globalization;

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
/// <remarks>
/// The file is <see cref="FullName"/>, as on a FileInfo: there is deliberately no Path property, because
/// Move-Item, Copy-Item and Remove-Item bind a piped object's Path to -Path, which reads [ ], * and ? as
/// wildcards. PowerShell sees a PSPath property too (the module's type adapter), which binds -LiteralPath.
/// </remarks>
public sealed class FssdScore
{
    /// <summary>The file scored (or a sample's origin when the input was not a file).</summary>
    public string FullName { get; init; } = "";

    /// <summary>The FSSD of the chosen tap, or the detector's weighted sum.</summary>
    public double Score { get; init; }

    /// <summary>Score below the threshold; null when no threshold is known (no detector).</summary>
    public bool? IsOutOfDistribution { get; init; }

    /// <summary>The model's class for the unperturbed input; null when the model has no classifier.</summary>
    public string? PredictedClass { get; init; }

    /// <summary>The largest softmax probability of the unperturbed input; null when the model has no classifier.</summary>
    public double? Confidence { get; init; }

    /// <summary>The detector's threshold: a score below it is out of distribution.</summary>
    public double? Threshold { get; init; }

    /// <summary>What scored it: FSSD, or a baseline's name.</summary>
    public string Method { get; init; } = "FSSD";

    public string Model { get; init; } = "";

    /// <summary>Tap name → FSSD at that tap, in the model's tap order.</summary>
    public FssdLayerScores LayerScores { get; init; } = new();

    /// <summary>True when the input was a file (its <see cref="FullName"/> can be moved, copied, removed).</summary>
    internal bool IsFile { get; init; }

    /// <summary>The file's name without its folder.</summary>
    public string Name => PathParts.Leaf(FullName);

    /// <summary>The folder the file is in (views group by it).</summary>
    public string DirectoryName => PathParts.Folder(FullName);

    public override string ToString() => $"{FullName}: {Score:G6}";
}

/// <summary>
/// Scores by tap, in the model's tap order; prints as "conv1=31.6 conv2=30.2" (Export-Csv and views use that).
/// Keys are case-insensitive.
/// </summary>
public sealed class FssdLayerScores : OrderedDictionary
{
    public FssdLayerScores() : base(StringComparer.OrdinalIgnoreCase) { }

    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        foreach (DictionaryEntry entry in this)
        {
            if (text.Length > 0) text.Append(' ');
            text.Append(entry.Key).Append('=');
            text.Append(entry.Value is IFormattable f ? f.ToString("G4", CultureInfo.InvariantCulture) : entry.Value);
        }
        return text.ToString();
    }
}

/// <summary>Names of files given as full paths, on either platform's separators, without touching the disk.</summary>
internal static class PathParts
{
    /// <summary>What follows the last '/' or '\' (the path itself when there is none).</summary>
    public static string Leaf(string path)
    {
        int at = LastSeparator(path);
        return at < 0 ? path : path.Substring(at + 1);
    }

    /// <summary>What precedes the last separator (empty when there is none).</summary>
    public static string Folder(string path)
    {
        int at = LastSeparator(path);
        return at <= 0 ? (at == 0 ? path.Substring(0, 1) : "") : path.Substring(0, at);
    }

    private static int LastSeparator(string path) =>
        System.IO.Path.DirectorySeparatorChar == '\\' ? path.LastIndexOfAny(new[] { '/', '\\' }) : path.LastIndexOf('/');
}
