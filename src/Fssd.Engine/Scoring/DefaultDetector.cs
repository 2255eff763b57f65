using System.IO;
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
