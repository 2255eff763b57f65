using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>
/// An IDX file (the MNIST format): a magic number whose third byte is the element type and fourth
/// the number of dimensions, the dimensions as big-endian 32-bit integers, then the elements.
/// Gzipped files (MNIST's and FashionMNIST's distribution form) are read as they are.
/// Only unsigned bytes (type 0x08), the type of every MNIST-style image and label file, are read.
/// </summary>
public sealed class IdxFile
{
    private const byte UnsignedByte = 0x08;

    private IdxFile(int[] shape, byte[] data)
    {
        Shape = shape;
        Data = data;
    }

    /// <summary>The dimensions, e.g. [10000, 28, 28] for images or [10000] for labels.</summary>
    public int[] Shape { get; }

    /// <summary>The elements in row-major order.</summary>
    public byte[] Data { get; }

    /// <summary>How many items (the first dimension).</summary>
    public int Count => Shape.Length == 0 ? 0 : Shape[0];

    /// <summary>Bytes per item (the product of the other dimensions).</summary>
    public int ItemSize => Shape.Skip(1).Aggregate(1, (a, b) => a * b);

    public static IdxFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new FssdDataException($"The IDX file '{path}' cannot be read: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    public static IdxFile Parse(byte[] bytes, string name)
    {
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw new FssdDataException($"'{name}' is not an IDX file: it does not start with the IDX magic number (0x00 0x00 type dims).");
        byte type = bytes[2];
        int dims = bytes[3];
        if (type != UnsignedByte)
            throw new FssdDataException($"'{name}' holds IDX element type 0x{type:X2}; only unsigned bytes (0x08) are read.");
        if (dims == 0 || bytes.Length < 4 + 4 * dims)
            throw new FssdDataException($"'{name}' has an IDX header with {dims} dimension(s) that the file is too short to hold.");
        var shape = new int[dims];
        long expected = 1;
        for (int i = 0; i < dims; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i, 4));
            if (shape[i] < 0) throw new FssdDataException($"'{name}' has a negative IDX dimension ({shape[i]}).");
            expected *= shape[i];
        }
        int offset = 4 + 4 * dims;
        long actual = bytes.Length - offset;
        if (actual != expected)
            throw new FssdDataException(
                $"'{name}': its IDX header says {string.Join("x", shape)} = {expected} bytes of data, but the file holds {actual}.");
        return new IdxFile(shape, bytes.AsSpan(offset).ToArray());
    }

    private static byte[] ReadAllBytes(string path)
    {
        using var file = File.OpenRead(path);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        using var buffer = new MemoryStream();
        if (b0 == 0x1f && b1 == 0x8b)
        {
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            gz.CopyTo(buffer);
        }
        else
        {
            file.CopyTo(buffer);
        }
        return buffer.ToArray();
    }
}
