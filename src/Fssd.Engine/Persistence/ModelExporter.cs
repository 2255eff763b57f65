using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using TorchSharp.PyBridge;
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
        string tempWeights = weightsPath + ".tmp";
        // TorchScript and ONNX files are the network itself: copied as they are.
        if (model.Info.Architecture is ArchitectureCatalog.TorchScript or ArchitectureCatalog.Onnx)
        {
            File.Copy(model.Info.WeightsPath, tempWeights, overwrite: true);
        }
        else
        {
            var state = new Dictionary<string, Tensor>();
            foreach (var (key, value) in model.Network.Module.state_dict()) state[key] = value.detach().cpu();
            Safetensors.SaveStateDict(tempWeights, state);
        }
        File.Move(tempWeights, weightsPath, overwrite: true);

        // The cached model's manifest is shared; write a copy.
        var manifest = model.Manifest.Clone();
        manifest.Weights = Path.GetFileName(weightsPath);
        if (manifest.Preprocessing is not null)
        {
            string preprocessing = Path.ChangeExtension(weightsPath, ".preprocessing.onnx");
            File.Copy(manifest.Preprocessing, preprocessing + ".tmp", overwrite: true);
            File.Move(preprocessing + ".tmp", preprocessing, overwrite: true);
            manifest.Preprocessing = Path.GetFileName(preprocessing);
        }
        manifest.Name = name ?? manifest.Name;
        string yaml = manifest.ToYaml();
        AtomicFile.WriteAllText(manifestPath, "# Fssd model manifest: Import-FssdModel -Path <this file>\n" + yaml);
        return manifestPath;
    }
}

/// <summary>Writes a file through a temporary sibling and a rename, so readers never see half of it.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
