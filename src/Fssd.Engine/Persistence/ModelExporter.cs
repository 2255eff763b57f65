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
        string ext = model.Info.Architecture == ArchitectureCatalog.TorchScript ? ".pt" : ".safetensors";
        return (Path.Combine(directory, stem + ".yaml"), Path.Combine(directory, stem + ext));
    }

    /// <summary>Writes weights (safetensors; TorchScript archives are copied) and the manifest, each atomically.</summary>
    public static string Export(LoadedModel model, string directory, string? name)
    {
        Directory.CreateDirectory(directory);
        var (manifestPath, weightsPath) = PlannedPaths(model, directory, name);
        if (model.Info.Architecture == ArchitectureCatalog.TorchScript)
            AtomicFile.Write(weightsPath, stream =>
            {
                using var source = File.OpenRead(model.Info.WeightsPath);
                source.CopyTo(stream);
            });
        else
            SafetensorsFile.Write(weightsPath, model.Network.Module.state_dict().ToList());

        // The cached model's manifest is shared; write a copy.
        var manifest = model.Manifest.Clone();
        manifest.Weights = Path.GetFileName(weightsPath);
        manifest.Name = name ?? manifest.Name;
        manifest.Write(manifestPath, "# Fssd model manifest: Import-FssdModel -Path <this file>\n");
        return manifestPath;
    }
}
