using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Data;

/// <summary>Turns byte pixels into the normalized float input a model reads.</summary>
public static class ImageTensors
{
    /// <summary>All of a set's pixels as one uint8 tensor [N, C, H, W] on the CPU (one copy).</summary>
    public static Tensor ToByteTensor(ImageSet set) =>
        tensor(set.Pixels, new long[] { set.Count, set.Channels, set.Height, set.Width }, dtype: ScalarType.Byte);

    /// <summary>Scales bytes 0..255 to the spec's value range: [B, C, H, W] float32.</summary>
    public static Tensor Scale(Tensor bytes, FssdInputSpec spec)
    {
        double low = spec.ValueRange[0], high = spec.ValueRange[1];
        using var asFloat = bytes.to_type(ScalarType.Float32);
        // Scalars held until the calls return, the alpha of the addition too (see HeldScalars).
        using var scale = ((high - low) / 255.0).ToScalar();
        using var offset = low.ToScalar();
        return asFloat.mul(scale).add_(offset, Runtime.HeldScalars.One);
    }

    /// <summary>Subtracts the per-channel mean and divides by the per-channel std.</summary>
    public static Tensor Normalize(Tensor scaled, FssdInputSpec spec)
    {
        int c = spec.Channels;
        using var mean = tensor(Array.ConvertAll(spec.Mean, v => (float)v), new long[] { 1, c, 1, 1 }, device: scaled.device);
        using var std = tensor(Array.ConvertAll(spec.Std, v => (float)v), new long[] { 1, c, 1, 1 }, device: scaled.device);
        return scaled.sub(mean).div_(std);
    }

    /// <summary>Decoded inputs (channels first, at the spec's size, 0..255) as one normalized batch on <paramref name="device"/>.</summary>
    public static Tensor FromSamples(System.Collections.Generic.IReadOnlyList<byte[]> samples, FssdInputSpec spec, Device device)
    {
        int size = spec.Channels * spec.Height * spec.Width;
        var buffer = new byte[samples.Count * size];
        for (int i = 0; i < samples.Count; i++) Buffer.BlockCopy(samples[i], 0, buffer, i * size, size);
        using var bytes = tensor(buffer, new long[] { samples.Count, spec.Channels, spec.Height, spec.Width }, dtype: ScalarType.Byte);
        return ToInput(bytes, spec, device);
    }

    /// <summary>Bytes to the normalized input on <paramref name="device"/>.</summary>
    public static Tensor ToInput(Tensor bytes, FssdInputSpec spec, Device device)
    {
        using var scaled = Scale(bytes, spec);
        using var normalized = Normalize(scaled, spec);
        return normalized.to(device);
    }
}
