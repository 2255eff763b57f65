using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>Reads a state_dict (name → tensor) from a PyTorch .pt/.pth or a .safetensors file, checked before anything is allocated.</summary>
public static class StateDictReader
{
    /// <summary>The state_dict; whatever goes wrong is an <see cref="FssdModelException"/> naming the file and the cause.</summary>
    public static Dictionary<string, Tensor> Read(string path, WeightsFormat format)
    {
        try
        {
            return format switch
            {
                WeightsFormat.Safetensors => SafetensorsFile.Read(path),
                WeightsFormat.PyTorchStateDict => PyTorchArchive.ReadStateDict(path),
                _ => throw new FssdModelException($"'{path}' is {Describe(format)}, not a state_dict."),
            };
        }
        catch (FssdModelException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new FssdModelException($"'{path}' could not be read as {Describe(format)}: it is truncated, corrupt or not a model file ({e.GetType().Name}: {e.Message})", e);
        }
    }

    public static string Describe(WeightsFormat format) => format switch
    {
        WeightsFormat.PyTorchStateDict => "a PyTorch state_dict",
        WeightsFormat.Safetensors => "a safetensors file",
        WeightsFormat.TorchScript => "a TorchScript archive",
        WeightsFormat.Onnx => "an ONNX model",
        _ => "a TorchSharp weights file",
    };
}
