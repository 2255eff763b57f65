using System;
using System.Buffers.Binary;

namespace Fssd.Engine.Persistence;

/// <summary>
/// Arrays of numbers in a YAML file as base64 of little-endian float32 or float64: bit-exact, compact, and
/// checked on the way back — the byte count against the declared count in 64-bit arithmetic before
/// anything is allocated, every value finite.
/// </summary>
internal static class PackedValues
{
    public static string Float32(float[] values)
    {
        var bytes = new byte[values.Length * 4L];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return Convert.ToBase64String(bytes);
    }

    public static string Float64(double[] values)
    {
        var bytes = new byte[values.Length * 8L];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
        return Convert.ToBase64String(bytes);
    }

    /// <summary><paramref name="count"/> float32 values; <paramref name="what"/> names them in errors ("the center of tap 'fc1'").</summary>
    public static float[] ReadFloat32(string base64, long count, string file, string what)
    {
        var bytes = Bytes(base64, count, 4, file, what);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
            if (!float.IsFinite(values[i])) throw new FssdModelException($"{file} is not valid: {what} holds {values[i]} at {i}.");
        }
        return values;
    }

    public static double[] ReadFloat64(string base64, long count, string file, string what)
    {
        var bytes = Bytes(base64, count, 8, file, what);
        var values = new double[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(8 * i));
            if (!double.IsFinite(values[i])) throw new FssdModelException($"{file} is not valid: {what} holds {values[i]} at {i}.");
        }
        return values;
    }

    private static byte[] Bytes(string base64, long count, int size, string file, string what)
    {
        // Three bytes make four base64 characters: a wrong length is refused before anything is decoded.
        long expectedChars = (count * size + 2) / 3 * 4;
        if (count < 0 || base64.Length != expectedChars)
            throw new FssdModelException($"{file} is not valid: {what} holds {base64.Length} base64 characters, not the {expectedChars} of {count} values.");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new FssdModelException($"{file} is not valid: {what} is not valid base64.", e);
        }
        if (bytes.LongLength != count * size) throw new FssdModelException($"{file} is not valid: {what} holds {bytes.Length / size} values, not {count}.");
        return bytes;
    }
}
