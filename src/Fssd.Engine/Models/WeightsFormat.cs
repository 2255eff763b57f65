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
        if (Directory.Exists(path)) throw new FssdModelException($"'{path}' is a directory, not a weights file.");
        if (!File.Exists(path)) throw new FssdFileNotFoundException($"The weights file '{path}' does not exist.", path);
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

        if (LooksLikeTorchSharp(head.AsSpan(0, read))) return WeightsFormat.TorchSharp;
        // A damaged ONNX file no longer looks like one; its name says what it was meant to be, and the
        // ONNX reader says what is wrong with it.
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase)) return WeightsFormat.Onnx;
        throw new FssdModelException(
            $"'{path}' is {Persistence.FileKind.Describe(path)}, not a model file: give a model manifest (.yaml), a PyTorch state_dict (.pt, .pth), " +
            ".safetensors, an ONNX model, TorchSharp weights or a TorchScript archive.");
    }

    /// <summary>
    /// TorchSharp's module.save starts with the tensor count and the first name, both length-prefixed
    /// (LEB128): a small count, then a short printable name.
    /// </summary>
    private static bool LooksLikeTorchSharp(ReadOnlySpan<byte> head)
    {
        int i = 0;
        long count = Leb128(head, ref i);
        if (count is < 1 or > 1_000_000) return false;
        long nameLength = Leb128(head, ref i);
        if (nameLength is < 1 or > 4096) return false;
        for (int k = 0; k < nameLength && i + k < head.Length; k++)
            if (head[i + k] is < 32 or > 126) return false;
        return true;
    }

    private static long Leb128(ReadOnlySpan<byte> bytes, ref int i)
    {
        long value = 0;
        for (int shift = 0; i < bytes.Length && shift < 63; shift += 7)
        {
            byte b = bytes[i++];
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        return -1;
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
