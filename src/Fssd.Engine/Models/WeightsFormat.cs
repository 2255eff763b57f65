using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;

namespace Fssd.Engine.Models;

/// <summary>The kinds of weights files the module reads.</summary>
public enum WeightsFormat
{
    /// <summary>torch.save of a state_dict (a zip archive holding data.pkl).</summary>
    PyTorchStateDict,

    /// <summary>A .safetensors file (8-byte header length, JSON header, raw tensors).</summary>
    Safetensors,

    /// <summary>torch.jit.save of a scripted or traced module (a zip archive holding code/).</summary>
    TorchScript,

    /// <summary>TorchSharp's own module.save format.</summary>
    TorchSharp,

    /// <summary>An ONNX model (a protobuf ModelProto: the graph and its weights).</summary>
    Onnx,
}

/// <summary>Tells a weights file's format from its first bytes, not its extension.</summary>
public static class WeightsFormatDetector
{
    public static WeightsFormat Detect(string path)
    {
        if (!File.Exists(path))
            throw new FssdModelException(Directory.Exists(path)
                ? $"'{path}' is a directory, not a weights file."
                : $"The weights file '{path}' does not exist.");
        var head = new byte[16];
        int read;
        long length;
        using (var stream = File.OpenRead(path))
        {
            length = stream.Length;
            read = stream.Read(head, 0, head.Length);
        }
        if (read == 0) throw new FssdModelException($"'{path}' is empty (0 bytes): it is not a model file.");

        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4)
            return IsTorchScriptArchive(path) ? WeightsFormat.TorchScript : WeightsFormat.PyTorchStateDict;

        if (read >= 9 && head[8] == (byte)'{')
        {
            ulong headerLength = BitConverter.ToUInt64(head, 0);
            if (headerLength > 1 && headerLength < (ulong)length) return WeightsFormat.Safetensors;
            throw new FssdModelException(
                $"'{path}' looks like a safetensors file but is truncated: its header claims {headerLength} bytes and the file has {length}.");
        }

        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new FssdModelException(
                $"'{path}' is a PyTorch file in the legacy (pre-1.6) pickle format; re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or newer.");

        using (var stream = File.OpenRead(path))
            if (Onnx.OnnxFile.LooksLikeModel(stream)) return WeightsFormat.Onnx;

        return WeightsFormat.TorchSharp;
    }

    private static bool IsTorchScriptArchive(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Any(e => e.FullName.Contains("/code/", StringComparison.Ordinal)
                || e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal));
        }
        catch (InvalidDataException e)
        {
            throw new FssdModelException($"'{path}' is a truncated or corrupt zip archive: {e.Message}", e);
        }
    }
}
