using System;
using System.Buffers.Binary;
using System.Text;

namespace Fssd.Engine.Models.Onnx;

/// <summary>Protobuf wire types (the low three bits of a field's tag).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>
/// Reads protobuf's wire format from a byte range, one field at a time. Every length is checked in 64-bit
/// arithmetic against the bytes left before anything is read or allocated, so a truncated or hostile file
/// ends in an <see cref="OnnxFormatException"/>, never an out-of-range read or a huge allocation.
/// </summary>
internal sealed class ProtobufReader
{
    private readonly byte[] _data;
    private readonly int _end;
    private int _position;

    public ProtobufReader(byte[] data) : this(data, 0, data.Length)
    {
    }

    private ProtobufReader(byte[] data, int start, int end)
    {
        _data = data;
        _position = start;
        _end = end;
    }

    public bool AtEnd => _position >= _end;

    /// <summary>The whole buffer, for offsets that <see cref="ReadSpan"/> returns.</summary>
    public byte[] Buffer => _data;

    /// <summary>The next field's number and wire type.</summary>
    public (int Field, WireType Wire) ReadTag()
    {
        ulong tag = ReadVarint();
        ulong field = tag >> 3;
        int wire = (int)(tag & 7);
        if (field == 0 || field > int.MaxValue) throw new OnnxFormatException($"a field number of {field} at byte {_position}");
        if (wire is not (0 or 1 or 2 or 5))
            throw new OnnxFormatException($"wire type {wire} (field {field}) at byte {_position}; groups are not used by ONNX");
        return ((int)field, (WireType)wire);
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _end) throw new OnnxFormatException("a number cut off at the end of its message");
            byte b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new OnnxFormatException($"a number longer than ten bytes at byte {_position}");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>An int32 or enum field (negative values take ten bytes on the wire).</summary>
    public int ReadInt32()
    {
        long v = (long)ReadVarint();
        if (v < int.MinValue || v > int.MaxValue) throw new OnnxFormatException($"{v} where a 32-bit number belongs");
        return (int)v;
    }

    public float ReadFloat()
    {
        Require(4);
        float v = BinaryPrimitives.ReadSingleLittleEndian(_data.AsSpan(_position, 4));
        _position += 4;
        return v;
    }

    /// <summary>The bytes of a length-delimited field, as (offset, length) into the buffer.</summary>
    public (int Offset, int Length) ReadSpan()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_end - _position))
            throw new OnnxFormatException($"a field of {length} bytes at byte {_position}, where only {_end - _position} are left");
        int offset = _position;
        _position += (int)length;
        return (offset, (int)length);
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var (offset, length) = ReadSpan();
        return _data.AsSpan(offset, length);
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>A reader over an embedded message.</summary>
    public ProtobufReader ReadMessage()
    {
        var (offset, length) = ReadSpan();
        return new ProtobufReader(_data, offset, offset + length);
    }

    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                Require(8);
                _position += 8;
                break;
            case WireType.Fixed32:
                Require(4);
                _position += 4;
                break;
            default:
                ReadSpan();
                break;
        }
    }

    /// <summary>Appends a repeated int64 field's values, packed or one by one.</summary>
    public void ReadInt64s(WireType wire, System.Collections.Generic.List<long> into)
    {
        if (wire == WireType.Varint)
        {
            into.Add(ReadInt64());
            return;
        }
        Expect(wire, WireType.LengthDelimited, "a list of integers");
        var packed = ReadMessage();
        while (!packed.AtEnd) into.Add(packed.ReadInt64());
    }

    /// <summary>Appends a repeated float field's values, packed or one by one.</summary>
    public void ReadFloats(WireType wire, System.Collections.Generic.List<float> into)
    {
        if (wire == WireType.Fixed32)
        {
            into.Add(ReadFloat());
            return;
        }
        Expect(wire, WireType.LengthDelimited, "a list of floats");
        var bytes = ReadBytes();
        if (bytes.Length % 4 != 0) throw new OnnxFormatException($"a packed float list of {bytes.Length} bytes (not a multiple of 4)");
        for (int i = 0; i < bytes.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i, 4)));
    }

    public static void Expect(WireType actual, WireType expected, string what)
    {
        if (actual != expected) throw new OnnxFormatException($"{what} stored with wire type {(int)actual} instead of {(int)expected}");
    }

    private void Require(int bytes)
    {
        if (_end - _position < bytes) throw new OnnxFormatException($"a {bytes}-byte value cut off at the end of its message");
    }
}

/// <summary>The bytes of an ONNX file do not follow protobuf's format or ONNX's schema.</summary>
internal sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message) : base(message)
    {
    }
}
