using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>Reads a state_dict (name → tensor) from a PyTorch .pt/.pth or a .safetensors file.</summary>
public static class StateDictReader
{
    public static Dictionary<string, Tensor> Read(string path, WeightsFormat format)
    {
        try
        {
            switch (format)
            {
                case WeightsFormat.Safetensors:
                    return Safetensors.LoadStateDict(path);
                case WeightsFormat.PyTorchStateDict:
                    var table = PyTorchUnpickler.UnpickleStateDict(path);
                    var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                    foreach (DictionaryEntry entry in table)
                    {
                        if (entry.Value is Tensor t) result[(string)entry.Key] = t;
                        else
                            throw new FssdModelException(
                                $"'{path}' holds '{entry.Key}' of type {entry.Value?.GetType().Name ?? "null"}; a state_dict holds tensors only. " +
                                "Save model.state_dict(), not a checkpoint dictionary or the whole model.");
                    }
                    return result;
                default:
                    throw new FssdModelException($"'{path}' is {format}, not a state_dict.");
            }
        }
        catch (FssdModelException)
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException
            or ArgumentException or InvalidOperationException or NotSupportedException or FormatException
            or IndexOutOfRangeException or KeyNotFoundException or InvalidCastException or OverflowException
            or System.Text.Json.JsonException or Razorvine.Pickle.PickleException)
        {
            throw new FssdModelException($"'{path}' could not be read as {Describe(format)}: it is truncated, corrupt or not a model file ({e.Message})", e);
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
