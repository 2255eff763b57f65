using System.IO;
using Fssd.Engine.Data;
using Fssd.Engine.Models;

namespace Fssd.Engine.Scoring;

/// <summary>
/// The detector the module ships beside its default model and uses when Measure-Fssd is given neither a
/// detector nor a model (build/New-DefaultModel.ps1 makes it; README says what it is).
/// </summary>
public static class DefaultDetector
{
    public const string FileName = "fashion-mnist-lenet.fssd.yaml";

    public static string Path => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(DefaultModel.ManifestPath)!, FileName);
}

/// <summary>
/// Whether an input is like those a detector was made for: a gray model meeting colour images, or a
/// model of small fixed-size images meeting images of another scale, scores them after a conversion that
/// throws away what makes them different; its verdicts then say little.
/// </summary>
public static class InputFit
{
    /// <summary>How far (as a factor) an image's side may be from the model's before it counts as another scale.</summary>
    public const double ScaleFactor = 2.0;

    /// <summary>Sides of the models that photos are resized to as a matter of course (ImageNet's 224) are not checked.</summary>
    public const int CheckedSide = 64;

    /// <summary>Why <paramref name="image"/> is unlike <paramref name="spec"/>'s inputs ("colour", "320 x 240, not 28 x 28"), or null.</summary>
    public static string? Mismatch(FssdInputSpec spec, SourceImage image)
    {
        var reasons = new System.Collections.Generic.List<string>(2);
        if (spec.Channels == 1 && image.IsColour) reasons.Add("in colour, the model sees gray");
        if (spec.Height <= CheckedSide && spec.Width <= CheckedSide && (Far(image.Height, spec.Height) || Far(image.Width, spec.Width)))
            reasons.Add($"{image.Width} x {image.Height} pixels, the model's inputs are {spec.Width} x {spec.Height}");
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    private static bool Far(int side, int expected) => side > ScaleFactor * expected || side * ScaleFactor < expected;
}
