using System;
using System.IO;

namespace Fssd.Engine.Models;

/// <summary>
/// The model the module ships: LeNet trained by New-FssdClassifier on FashionMNIST's 60,000 training
/// images (build/New-DefaultModel.ps1 reproduces it). It lives in the module's models folder.
/// </summary>
public static class DefaultModel
{
    public const string ManifestFileName = "fashion-mnist-lenet.yaml";

    /// <summary>Environment variable pointing at another default manifest (tests use it).</summary>
    public const string PathVariable = "FSSD_DEFAULT_MODEL";

    public static string ManifestPath
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable(PathVariable);
            if (!string.IsNullOrWhiteSpace(overridden)) return Path.GetFullPath(overridden);
            string here = Path.GetDirectoryName(typeof(DefaultModel).Assembly.Location) ?? AppContext.BaseDirectory;
            return Path.GetFullPath(Path.Combine(here, "..", "models", ManifestFileName));
        }
    }
}
