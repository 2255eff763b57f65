using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace Fssd.Engine.Models.Onnx;

/// <summary>ONNX's tensor element types (TensorProto.DataType) that this module names in messages.</summary>
internal static class OnnxDataType
{
    public const int Float = 1;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Bool = 9;

    public static string Name(int type) => type switch
    {
        1 => "float32", 2 => "uint8", 3 => "int8", 4 => "uint16", 5 => "int16", 6 => "int32", 7 => "int64",
        8 => "string", 9 => "bool", 10 => "float16", 11 => "float64", 12 => "uint32", 13 => "uint64",
        14 => "complex64", 15 => "complex128", 16 => "bfloat16",
        _ => $"type {type}",
    };
}

/// <summary>A tensor stored in an ONNX file (an initializer, a Constant's value or a test's input), decoded and checked.</summary>
internal sealed class OnnxTensor
{
    public string Name { get; init; } = "";
    public long[] Dims { get; init; } = Array.Empty<long>();
    public int DataType { get; init; }

    /// <summary>The values of a float32 tensor, row-major.</summary>
    public float[]? Floats { get; init; }

    /// <summary>The values of an int64 tensor (or an int32 one, widened), row-major.</summary>
    public long[]? Longs { get; init; }

    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// Float32 only: where the values lie in the file's bytes (raw data, or packed lists), in order; null where
    /// some were written one by one. What <see cref="OnnxFile.WithFloats"/> overwrites in place.
    /// </summary>
    public IReadOnlyList<(int Offset, int Length)>? FloatSpans { get; init; }

    public override string ToString() => $"'{Name}' {OnnxDataType.Name(DataType)} [{string.Join(", ", Dims)}]";
}

/// <summary>One dimension of a declared shape: a number, or a name (e.g. a dynamic batch).</summary>
internal readonly record struct OnnxDimension(long? Value, string? Parameter);

/// <summary>A graph input or output as declared: name, element type and shape (null when not declared).</summary>
internal sealed class OnnxValueInfo
{
    public string Name { get; init; } = "";
    public int ElementType { get; init; }
    public IReadOnlyList<OnnxDimension>? Shape { get; init; }
}

/// <summary>An attribute of a node (the kinds the supported operators use; others are kept by name and type only).</summary>
internal sealed class OnnxAttribute
{
    public const int FloatType = 1, IntType = 2, StringType = 3, TensorType = 4, GraphType = 5, FloatsType = 6, IntsType = 7, StringsType = 8;

    public string Name { get; set; } = "";
    public int Type { get; set; }
    public float Float { get; set; }
    public long Int { get; set; }
    public string String { get; set; } = "";
    public OnnxTensor? Tensor { get; set; }
    public List<float> Floats { get; } = new();
    public List<long> Ints { get; } = new();
}

/// <summary>One node of a graph: an operator applied to named inputs, writing named outputs.</summary>
internal sealed class OnnxNode
{
    public string Name { get; init; } = "";
    public string OpType { get; init; } = "";
    public string Domain { get; init; } = "";
    public IReadOnlyList<string> Inputs { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Outputs { get; init; } = Array.Empty<string>();
    public IReadOnlyDictionary<string, OnnxAttribute> Attributes { get; init; } = new Dictionary<string, OnnxAttribute>();

    /// <summary>How messages name the node: its name, or its first output when it has none.</summary>
    public string Label => Name.Length > 0 ? $"'{Name}'" : $"writing '{Outputs.FirstOrDefault() ?? "?"}'";
}

/// <summary>The graph of an ONNX model.</summary>
internal sealed class OnnxGraphProto
{
    public string Name { get; init; } = "";
    public IReadOnlyList<OnnxNode> Nodes { get; init; } = Array.Empty<OnnxNode>();
    public IReadOnlyList<OnnxTensor> Initializers { get; init; } = Array.Empty<OnnxTensor>();
    public IReadOnlyList<OnnxValueInfo> Inputs { get; init; } = Array.Empty<OnnxValueInfo>();
    public IReadOnlyList<OnnxValueInfo> Outputs { get; init; } = Array.Empty<OnnxValueInfo>();
}

/// <summary>
/// An ONNX model file (ModelProto) read with this module's own protobuf reader: the opset, the producer
/// and the graph. Only the fields the supported operators need are decoded; the rest are skipped.
/// </summary>
internal sealed class OnnxFile
{
    /// <summary>Protobuf messages cannot exceed 2 GiB; larger ONNX models keep their weights in external files.</summary>
    private const long MaxFileBytes = int.MaxValue;

    public long IrVersion { get; init; }

    /// <summary>The version of the default ("" or "ai.onnx") operator set.</summary>
    public long Opset { get; init; }
    public IReadOnlyDictionary<string, long> Opsets { get; init; } = new Dictionary<string, long>();
    public string Producer { get; init; } = "";
    public OnnxGraphProto Graph { get; init; } = new();

    /// <summary>Reads and checks an ONNX file; anything wrong is an <see cref="FssdModelException"/> naming the file.</summary>
    public static OnnxFile Read(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
            throw new FssdModelException($"'{path}' is {length} bytes, more than an ONNX protobuf can hold (2 GiB); models this large keep their weights in external data files, which this module does not read.");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdModelException($"'{path}' cannot be read: {e.Message}", e);
        }
        try
        {
            return Parse(bytes);
        }
        catch (OnnxFormatException e)
        {
            throw new FssdModelException($"'{path}' is not a valid ONNX model: {e.Message}.", e);
        }
    }

    /// <summary>
    /// The bytes of the ONNX model <paramref name="source"/> with the values of some float32 initializers
    /// replaced (same names, same element counts): each is overwritten where it lies, so that every length
    /// in the protobuf stays as it was and the result is the same model with other weights.
    /// </summary>
    public static byte[] WithFloats(string source, IReadOnlyDictionary<string, float[]> values)
    {
        byte[] bytes = File.ReadAllBytes(source);
        OnnxFile file;
        try
        {
            file = Parse(bytes);
        }
        catch (OnnxFormatException e)
        {
            throw new FssdModelException($"'{source}' is not a valid ONNX model: {e.Message}.", e);
        }
        var initializers = file.Graph.Initializers.GroupBy(i => i.Name).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var (name, replacement) in values)
        {
            if (!initializers.TryGetValue(name, out var tensor) || tensor.Floats is null)
                throw new FssdModelException($"'{source}' has no float32 initializer '{name}' to replace.");
            if (tensor.ElementCount != replacement.Length)
                throw new FssdModelException($"The initializer '{name}' of '{source}' holds {tensor.ElementCount} values; {replacement.Length} were given.");
            if (tensor.FloatSpans is null)
                throw new FssdModelException($"The initializer '{name}' of '{source}' is written value by value; the module rewrites raw or packed data only.");
            int at = 0;
            foreach (var (offset, length) in tensor.FloatSpans)
            {
                MemoryMarshal.AsBytes(replacement.AsSpan(at, length / 4)).CopyTo(bytes.AsSpan(offset, length));
                at += length / 4;
            }
        }
        return bytes;
    }

    /// <summary>
    /// Whether a file looks like an ONNX ModelProto (ONNX has no magic number): every top-level field is
    /// one of ModelProto's with its wire type, and an IR version and a graph are among them. Only the
    /// top level is walked, seeking over the fields' contents.
    /// </summary>
    public static bool LooksLikeModel(Stream stream)
    {
        bool graph = false, ir = false;
        long length = stream.Length;
        while (stream.Position < length)
        {
            ulong? tag = ReadVarint(stream);
            if (tag is null) return false;
            ulong field = tag.Value >> 3;
            var wire = (WireType)(int)(tag.Value & 7);
            WireType? expected = field switch
            {
                1 or 5 => WireType.Varint,
                2 or 3 or 4 or 6 or 7 or 8 or 14 or 20 or 25 => WireType.LengthDelimited,
                _ => null,
            };
            if (expected != wire) return false;
            ulong? value = ReadVarint(stream);
            if (value is null) return false;
            if (wire == WireType.LengthDelimited)
            {
                if (value.Value > (ulong)(length - stream.Position)) return false;
                stream.Seek((long)value.Value, SeekOrigin.Current);
            }
            graph |= field == 7;
            ir |= field == 1;
        }
        return graph && ir;
    }

    private static ulong? ReadVarint(Stream stream)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            int b = stream.ReadByte();
            if (b < 0) return null;
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        return null;
    }

    internal static OnnxFile Parse(byte[] bytes)
    {
        var r = new ProtobufReader(bytes);
        long ir = 0;
        string producer = "";
        var opsets = new Dictionary<string, long>();
        OnnxGraphProto? graph = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == WireType.Varint: ir = r.ReadInt64(); break;
                case 2 when wire == WireType.LengthDelimited: producer = r.ReadString(); break;
                case 7 when wire == WireType.LengthDelimited: graph = ReadGraph(r.ReadMessage()); break;
                case 8 when wire == WireType.LengthDelimited:
                    var (domain, version) = ReadOpset(r.ReadMessage());
                    opsets[domain] = version;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (graph is null) throw new OnnxFormatException("it has no graph");
        long opset = opsets.TryGetValue("", out var v) ? v : opsets.TryGetValue("ai.onnx", out var w) ? w : 1;
        return new OnnxFile { IrVersion = ir, Opset = opset, Opsets = opsets, Producer = producer, Graph = graph };
    }

    private static (string Domain, long Version) ReadOpset(ProtobufReader r)
    {
        string domain = "";
        long version = 0;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == WireType.LengthDelimited) domain = r.ReadString();
            else if (field == 2 && wire == WireType.Varint) version = r.ReadInt64();
            else r.Skip(wire);
        }
        return (domain, version);
    }

    private static OnnxGraphProto ReadGraph(ProtobufReader r)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        string name = "";
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (wire != WireType.LengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            switch (field)
            {
                case 1: nodes.Add(ReadNode(r.ReadMessage())); break;
                case 2: name = r.ReadString(); break;
                case 5: initializers.Add(ReadTensor(r.ReadMessage())); break;
                case 11: inputs.Add(ReadValueInfo(r.ReadMessage())); break;
                case 12: outputs.Add(ReadValueInfo(r.ReadMessage())); break;
                case 15: throw new OnnxFormatException("it has sparse initializers, which this module does not read");
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraphProto { Name = name, Nodes = nodes, Initializers = initializers, Inputs = inputs, Outputs = outputs };
    }

    private static OnnxNode ReadNode(ProtobufReader r)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        string name = "", op = "", domain = "";
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (wire != WireType.LengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            switch (field)
            {
                case 1: inputs.Add(r.ReadString()); break;
                case 2: outputs.Add(r.ReadString()); break;
                case 3: name = r.ReadString(); break;
                case 4: op = r.ReadString(); break;
                case 7: domain = r.ReadString(); break;
                case 5:
                    var a = ReadAttribute(r.ReadMessage());
                    attributes[a.Name] = a;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (op.Length == 0) throw new OnnxFormatException($"node '{name}' has no operator type");
        return new OnnxNode { Name = name, OpType = op, Domain = domain, Inputs = inputs, Outputs = outputs, Attributes = attributes };
    }

    private static OnnxAttribute ReadAttribute(ProtobufReader r)
    {
        var a = new OnnxAttribute();
        bool sawGraph = false;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == WireType.LengthDelimited: a.Name = r.ReadString(); break;
                case 20 when wire == WireType.Varint: a.Type = r.ReadInt32(); break;
                case 2 when wire == WireType.Fixed32: a.Float = r.ReadFloat(); break;
                case 3 when wire == WireType.Varint: a.Int = r.ReadInt64(); break;
                case 4 when wire == WireType.LengthDelimited: a.String = r.ReadString(); break;
                case 5 when wire == WireType.LengthDelimited: a.Tensor = ReadTensor(r.ReadMessage()); break;
                case 6 when wire == WireType.LengthDelimited: sawGraph = true; r.Skip(wire); break;
                case 7: r.ReadFloats(wire, a.Floats); break;
                case 8: r.ReadInt64s(wire, a.Ints); break;
                default: r.Skip(wire); break;
            }
        }
        // Files from before IR version 3 leave the type out; infer it from what is present.
        if (a.Type == 0)
            a.Type = a.Tensor is not null ? OnnxAttribute.TensorType : sawGraph ? OnnxAttribute.GraphType
                : a.Ints.Count > 0 ? OnnxAttribute.IntsType : a.Floats.Count > 0 ? OnnxAttribute.FloatsType
                : a.String.Length > 0 ? OnnxAttribute.StringType : OnnxAttribute.IntType;
        return a;
    }

    private static OnnxValueInfo ReadValueInfo(ProtobufReader r)
    {
        string name = "";
        int elementType = 0;
        List<OnnxDimension>? shape = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == 1 && wire == WireType.LengthDelimited) name = r.ReadString();
            else if (field == 2 && wire == WireType.LengthDelimited)
            {
                var type = r.ReadMessage();
                while (!type.AtEnd)
                {
                    var (tf, tw) = type.ReadTag();
                    if (tf != 1 || tw != WireType.LengthDelimited)
                    {
                        type.Skip(tw);
                        continue;
                    }
                    var tensorType = type.ReadMessage();
                    while (!tensorType.AtEnd)
                    {
                        var (f, w) = tensorType.ReadTag();
                        if (f == 1 && w == WireType.Varint) elementType = tensorType.ReadInt32();
                        else if (f == 2 && w == WireType.LengthDelimited) shape = ReadShape(tensorType.ReadMessage());
                        else tensorType.Skip(w);
                    }
                }
            }
            else r.Skip(wire);
        }
        return new OnnxValueInfo { Name = name, ElementType = elementType, Shape = shape };
    }

    private static List<OnnxDimension> ReadShape(ProtobufReader r)
    {
        var dims = new List<OnnxDimension>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field != 1 || wire != WireType.LengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            var d = r.ReadMessage();
            long? value = null;
            string? parameter = null;
            while (!d.AtEnd)
            {
                var (f, w) = d.ReadTag();
                if (f == 1 && w == WireType.Varint) value = d.ReadInt64();
                else if (f == 2 && w == WireType.LengthDelimited) parameter = d.ReadString();
                else d.Skip(w);
            }
            dims.Add(new OnnxDimension(value, parameter));
        }
        return dims;
    }

    /// <summary>
    /// A TensorProto, decoded into float32 or int64 values. Dimensions are checked in 64-bit arithmetic
    /// against the values present before any array is made: a file cannot make the reader allocate more
    /// than its own size.
    /// </summary>
    internal static OnnxTensor ReadTensor(ProtobufReader r)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        var floats = new List<float>();
        var longs = new List<long>();
        var ints = new List<long>();
        var packedFloats = new List<(int Offset, int Length)>();
        (int Offset, int Length)? raw = null;
        bool external = false;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1: r.ReadInt64s(wire, dims); break;
                case 2 when wire == WireType.Varint: dataType = r.ReadInt32(); break;
                case 3: throw new OnnxFormatException($"tensor '{name}' is split into segments, which this module does not read");
                case 4 when wire == WireType.LengthDelimited:
                    var span = r.ReadSpan();
                    if (span.Length % 4 != 0) throw new OnnxFormatException($"tensor '{name}' has a float list of {span.Length} bytes");
                    packedFloats.Add(span);
                    break;
                case 4: r.ReadFloats(wire, floats); break;
                case 7: r.ReadInt64s(wire, longs); break;
                case 5: r.ReadInt64s(wire, ints); break;
                case 8 when wire == WireType.LengthDelimited: name = r.ReadString(); break;
                case 9 when wire == WireType.LengthDelimited: raw = r.ReadSpan(); break;
                case 14 when wire == WireType.Varint: external = r.ReadInt32() == 1; break;
                case 13: external = true; r.Skip(wire); break;
                default: r.Skip(wire); break;
            }
        }
        if (external)
            throw new OnnxFormatException($"tensor '{name}' keeps its data in an external file; this module reads ONNX models whose weights are inside the .onnx file");
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new OnnxFormatException($"tensor '{name}' has a negative dimension ({d})");
            if (d > 0 && count > long.MaxValue / d) throw new OnnxFormatException($"tensor '{name}' has dimensions [{string.Join(", ", dims)}] whose product overflows");
            count *= d;
        }
        string described = $"tensor '{name}' [{string.Join(", ", dims)}]";
        byte[] buffer = r.Buffer;
        if (dataType == OnnxDataType.Float)
        {
            long present = raw is { } rw ? rw.Length / 4L : packedFloats.Sum(s => s.Length / 4L) + floats.Count;
            if (raw is { } rr && rr.Length % 4 != 0) throw new OnnxFormatException($"{described} has {rr.Length} raw bytes, not a multiple of 4");
            if (present != count) throw new OnnxFormatException($"{described} needs {count} float32 value(s) but holds {present}");
            var values = new float[count];
            if (raw is { } rv)
            {
                MemoryMarshal.Cast<byte, float>(buffer.AsSpan(rv.Offset, rv.Length)).CopyTo(values);
            }
            else
            {
                int at = 0;
                foreach (var (offset, length) in packedFloats)
                {
                    MemoryMarshal.Cast<byte, float>(buffer.AsSpan(offset, length)).CopyTo(values.AsSpan(at));
                    at += length / 4;
                }
                floats.CopyTo(values, at);
            }
            IReadOnlyList<(int, int)>? spans = raw is { } rs ? new[] { rs } : floats.Count == 0 ? packedFloats.ToArray() : null;
            return new OnnxTensor { Name = name, Dims = dims.ToArray(), DataType = dataType, Floats = values, FloatSpans = spans };
        }
        if (dataType == OnnxDataType.Int64)
        {
            long present = raw is { } rw ? rw.Length / 8L : longs.Count;
            if (raw is { } rr && rr.Length % 8 != 0) throw new OnnxFormatException($"{described} has {rr.Length} raw bytes, not a multiple of 8");
            if (present != count) throw new OnnxFormatException($"{described} needs {count} int64 value(s) but holds {present}");
            long[] values = raw is { } rv ? MemoryMarshal.Cast<byte, long>(buffer.AsSpan(rv.Offset, rv.Length)).ToArray() : longs.ToArray();
            return new OnnxTensor { Name = name, Dims = dims.ToArray(), DataType = dataType, Longs = values };
        }
        if (dataType == OnnxDataType.Int32)
        {
            // Indices and shapes some exporters write as int32: widened to int64, which is what the operators read.
            long present = raw is { } rw ? rw.Length / 4L : ints.Count;
            if (raw is { } rr && rr.Length % 4 != 0) throw new OnnxFormatException($"{described} has {rr.Length} raw bytes, not a multiple of 4");
            if (present != count) throw new OnnxFormatException($"{described} needs {count} int32 value(s) but holds {present}");
            long[] values = raw is { } rv
                ? Array.ConvertAll(MemoryMarshal.Cast<byte, int>(buffer.AsSpan(rv.Offset, rv.Length)).ToArray(), v => (long)v)
                : ints.Select(v => (long)(int)v).ToArray();
            return new OnnxTensor { Name = name, Dims = dims.ToArray(), DataType = OnnxDataType.Int64, Longs = values };
        }
        if (dataType == OnnxDataType.Bool)
        {
            // Flags (e.g. Dropout's training_mode) read as 0 and 1.
            long present = raw is { } rw ? rw.Length : ints.Count;
            if (present != count) throw new OnnxFormatException($"{described} needs {count} bool value(s) but holds {present}");
            long[] values = raw is { } rv ? buffer.AsSpan(rv.Offset, rv.Length).ToArray().Select(b => b != 0 ? 1L : 0L).ToArray()
                : ints.Select(v => v != 0 ? 1L : 0L).ToArray();
            return new OnnxTensor { Name = name, Dims = dims.ToArray(), DataType = OnnxDataType.Int64, Longs = values };
        }
        throw new OnnxFormatException($"{described} is {OnnxDataType.Name(dataType)}; this module reads float32 weights and int64 (or int32, bool) integers");
    }

    /// <summary>A TensorProto file on its own (ONNX's test data: input_N.pb, output_N.pb).</summary>
    internal static OnnxTensor ReadTensorFile(string path)
    {
        try
        {
            return ReadTensor(new ProtobufReader(File.ReadAllBytes(path)));
        }
        catch (OnnxFormatException e)
        {
            throw new FssdModelException($"'{path}' is not a valid ONNX tensor: {e.Message}.", e);
        }
    }
}
