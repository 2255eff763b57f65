using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Fssd.Engine.Tests;

/// <summary>
/// Writes small ONNX models byte by byte (protobuf's wire format), for tests that need a graph no
/// exporter makes: an operator the fixtures lack, or a hostile file.
/// </summary>
internal static class OnnxWriter
{
    public const int Float = 1, Int64 = 7;

    public static byte[] Model(int opset, IEnumerable<byte[]> nodes, IEnumerable<byte[]> initializers,
        IEnumerable<byte[]> inputs, IEnumerable<byte[]> outputs, long irVersion = 8)
    {
        var graph = new Message();
        foreach (var n in nodes) graph.Bytes(1, n);
        graph.String(2, "test");
        foreach (var t in initializers) graph.Bytes(5, t);
        foreach (var i in inputs) graph.Bytes(11, i);
        foreach (var o in outputs) graph.Bytes(12, o);
        var opsetId = new Message().String(1, "").Varint(2, (ulong)opset);
        return new Message().Varint(1, (ulong)irVersion).String(2, "fssd-tests").Bytes(7, graph.ToArray()).Bytes(8, opsetId.ToArray()).ToArray();
    }

    public static byte[] Node(string op, string[] inputs, string[] outputs, params byte[][] attributes)
    {
        var m = new Message();
        foreach (var i in inputs) m.String(1, i);
        foreach (var o in outputs) m.String(2, o);
        m.String(3, op.ToLowerInvariant() + "_" + outputs[0]).String(4, op);
        foreach (var a in attributes) m.Bytes(5, a);
        return m.ToArray();
    }

    public static byte[] Int(string name, long value) => new Message().String(1, name).Varint(3, (ulong)value).Varint(20, 2).ToArray();

    public static byte[] Ints(string name, params long[] values)
    {
        var m = new Message().String(1, name);
        foreach (var v in values) m.Varint(8, (ulong)v);
        return m.Varint(20, 7).ToArray();
    }

    /// <summary>A value's declaration: element type and shape (null for a named, dynamic dimension).</summary>
    public static byte[] Value(string name, int elementType, params long?[] shape)
    {
        var dims = new Message();
        foreach (var d in shape)
            dims.Bytes(1, d is { } v ? new Message().Varint(1, (ulong)v).ToArray() : new Message().String(2, "batch").ToArray());
        var tensorType = new Message().Varint(1, (ulong)elementType).Bytes(2, dims.ToArray());
        var type = new Message().Bytes(1, tensorType.ToArray());
        return new Message().String(1, name).Bytes(2, type.ToArray()).ToArray();
    }

    /// <summary>A float32 tensor whose values are in raw_data (as exporters write them).</summary>
    public static byte[] FloatTensor(string name, long[] dims, float[] values)
    {
        var m = new Message();
        foreach (var d in dims) m.Varint(1, (ulong)d);
        m.Varint(2, Float).String(8, name);
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        return m.Bytes(9, raw).ToArray();
    }

    public static byte[] Int64Tensor(string name, long[] dims, long[] values)
    {
        var m = new Message();
        foreach (var d in dims) m.Varint(1, (ulong)d);
        m.Varint(2, Int64).String(8, name);
        var raw = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        return m.Bytes(9, raw).ToArray();
    }

    public static string Save(byte[] model, string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"fssd-onnx-{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, model);
        return path;
    }

    /// <summary>A protobuf message being written: fields appended in order.</summary>
    public sealed class Message
    {
        private readonly MemoryStream _bytes = new();

        public Message Varint(int field, ulong value)
        {
            Tag(field, 0);
            Raw(value);
            return this;
        }

        public Message Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            _bytes.Write(value);
            return this;
        }

        public Message String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public byte[] ToArray() => _bytes.ToArray();

        private void Tag(int field, int wire) => Raw(((ulong)field << 3) | (uint)wire);

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.WriteByte((byte)value);
        }
    }
}
