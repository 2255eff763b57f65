using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// Reads and writes .safetensors files: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw bytes. Reading checks the whole header against the
/// file before any tensor exists: known dtypes, non-negative shapes whose byte size (64-bit, overflow
/// checked) equals the tensor's byte range, ranges inside the data and not overlapping.
/// </summary>
public static class SafetensorsFile
{
    private const long MaxHeaderBytes = 100L << 20;

    private static readonly Dictionary<string, ScalarType> Types = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    public static Dictionary<string, Tensor> Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = file.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8) throw Invalid(path, "it is shorter than its 8-byte header length");
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength == 0 || headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw Invalid(path, $"its header claims {headerLength} bytes and the file has {fileLength}");
        var header = new byte[headerLength];
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) throw Invalid(path, "its header is cut short");
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;

        var entries = new List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)>();
        try
        {
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(path, "its header is not a JSON object");
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                var e = property.Value;
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dtypeElement) || !e.TryGetProperty("shape", out var shapeElement)
                    || !e.TryGetProperty("data_offsets", out var offsetsElement))
                    throw Invalid(path, $"tensor '{property.Name}' lacks dtype, shape or data_offsets");
                string dtype = dtypeElement.GetString() ?? "";
                if (!Types.TryGetValue(dtype, out var type)) throw Invalid(path, $"tensor '{property.Name}' has dtype '{dtype}', which this module does not read");
                long[] shape = shapeElement.EnumerateArray().Select(d => d.GetInt64()).ToArray();
                long[] offsets = offsetsElement.EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (shape.Length > 16 || shape.Any(d => d < 0)) throw Invalid(path, $"tensor '{property.Name}' has shape [{string.Join(", ", shape)}]");
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw Invalid(path, $"tensor '{property.Name}' has byte range [{string.Join(", ", offsets)}] outside the {dataLength} bytes of data");
                long bytes;
                try
                {
                    bytes = shape.Aggregate(1L, (a, d) => checked(a * d));
                    bytes = checked(bytes * PyTorchArchive.ElementSize(type));
                }
                catch (OverflowException)
                {
                    throw Invalid(path, $"tensor '{property.Name}' has shape [{string.Join(", ", shape)}], whose size overflows 64 bits");
                }
                if (bytes != offsets[1] - offsets[0])
                    throw Invalid(path, $"tensor '{property.Name}' of shape [{string.Join(", ", shape)}] {dtype} needs {bytes} bytes but its range holds {offsets[1] - offsets[0]}");
                if (bytes > Array.MaxLength) throw Invalid(path, $"tensor '{property.Name}' has {bytes} bytes, more than this module reads in one piece (2 GB)");
                entries.Add((property.Name, type, shape, offsets[0], offsets[1]));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw Invalid(path, $"its header is not valid JSON of the safetensors layout ({e.Message})");
        }
        var sorted = entries.OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End && sorted[i].End > sorted[i].Begin)
                throw Invalid(path, $"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, type, shape, begin, end) in entries)
            {
                var buffer = new byte[end - begin];
                file.Position = dataStart + begin;
                if (file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length) throw Invalid(path, $"tensor '{name}' is cut short");
                var tensor = empty(shape, type);
                tensor.bytes = buffer;
                result[name] = tensor;
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Writes a state_dict (CPU tensors) atomically, names in the order given.</summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        var data = new List<byte[]>();
        foreach (var (name, value) in tensors)
        {
            using var contiguous = value.detach().cpu().contiguous();
            byte[] bytes = contiguous.bytes.ToArray();
            string dtype = Types.FirstOrDefault(p => p.Value == contiguous.dtype).Key
                ?? throw new ArgumentException($"Tensor '{name}' has dtype {contiguous.dtype}, which safetensors files here do not hold.", nameof(tensors));
            header[name] = new Dictionary<string, object> { ["dtype"] = dtype, ["shape"] = contiguous.shape, ["data_offsets"] = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
            data.Add(bytes);
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        // The header is padded with spaces to 8 bytes, as the reference writer does, so the data is aligned.
        int padded = (json.Length + 7) / 8 * 8;
        Persistence.AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var bytes in data) stream.Write(bytes);
        });
    }

    private static FssdModelException Invalid(string path, string cause) => new($"'{path}' is not a safetensors file this module reads: {cause}.");
}
