using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>Writes 28 × 28 gray images and their labels as IDX files (MNIST's format).</summary>
public static class IdxWriter
{
    private const int ImageSide = 28;

    /// <summary>Writes images and labels as IDX, in an order fixed by <paramref name="seed"/> (Fisher–Yates with SplitMix64).</summary>
    public static void WriteShuffled(string folder, string prefix, List<byte[]> images, List<byte> labels, ulong seed)
    {
        int n = images.Count;
        var order = Enumerable.Range(0, n).ToArray();
        ulong state = seed;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64.Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        using (var output = File.Create(Path.Combine(folder, $"{prefix}-images-idx3-ubyte")))
        {
            WriteHeader(output, 3, n, ImageSide, ImageSide);
            foreach (int i in order) output.Write(images[i]);
        }
        using (var output = File.Create(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte")))
        {
            WriteHeader(output, 1, n);
            foreach (int i in order) output.WriteByte(labels[i]);
        }
    }

    private static void WriteHeader(Stream output, byte dims, params int[] shape)
    {
        output.Write(new byte[] { 0, 0, 0x08, dims });
        Span<byte> word = stackalloc byte[4];
        foreach (int d in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            output.Write(word);
        }
    }
}
