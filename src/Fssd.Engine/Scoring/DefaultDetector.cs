using System.IO;
using Fssd.Engine.Models;

namespace Fssd.Engine.Scoring;

/// <summary>
/// The detector the module ships beside its default model: the model's uniform-noise F*, the fc1
/// tap, ε = 0, and a threshold that keeps 95% of FashionMNIST validation images
/// (build/New-DefaultModel.ps1 makes it).
/// </summary>
public static class DefaultDetector
{
    public const string FileName = "fashion-mnist-lenet.fssd.yaml";

    public static string Path => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(DefaultModel.ManifestPath)!, FileName);
}
