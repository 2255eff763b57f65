using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using static TorchSharp.torch;

namespace Fssd.Engine.Persistence;

/// <summary>Writes a model as a manifest plus weights that Import-FssdModel (and PyTorch) read back.</summary>
public static class ModelExporter
{
    /// <summary>The files an export of <paramref name="model"/> to <paramref name="directory"/> writes.</summary>
    public static (string Manifest, string Weights) PlannedPaths(LoadedModel model, string directory, string? name)
    {
        string stem = FileNames.Safe(name ?? model.Info.Name, "model");
        string ext = model.Info.Architecture switch
        {
            ArchitectureCatalog.TorchScript => ".pt",
            ArchitectureCatalog.Onnx => ".onnx",
            _ => ".safetensors",
        };
        return (Path.Combine(directory, stem + ".yaml"), Path.Combine(directory, stem + ext));
    }

    /// <summary>Writes weights (safetensors; TorchScript archives are copied) and the manifest, each atomically.</summary>
    public static string Export(LoadedModel model, string directory, string? name)
    {
        Directory.CreateDirectory(directory);
        var (manifestPath, weightsPath) = PlannedPaths(model, directory, name);
        // TorchScript and ONNX files are the network itself: copied as they are.
        if (model.Info.Architecture is ArchitectureCatalog.TorchScript or ArchitectureCatalog.Onnx)
            CopyAtomically(model.Info.WeightsPath, weightsPath);
        else
            SafetensorsFile.Write(weightsPath, model.Network.Module.state_dict().ToList());

        // The cached model's manifest is shared; write a copy.
        var manifest = model.Manifest.Clone();
        manifest.Weights = Path.GetFileName(weightsPath);
        if (manifest.Preprocessing is not null)
        {
            string preprocessing = Path.ChangeExtension(weightsPath, ".preprocessing.onnx");
            CopyAtomically(manifest.Preprocessing, preprocessing);
            manifest.Preprocessing = Path.GetFileName(preprocessing);
        }
        manifest.Name = name ?? manifest.Name;
        manifest.Write(manifestPath, "# Fssd model manifest: Import-FssdModel -Path <this file>\n");
        return manifestPath;
    }

    private static void CopyAtomically(string source, string target) => AtomicFile.Write(target, stream =>
    {
        using var input = File.OpenRead(source);
        input.CopyTo(stream);
    });
}
