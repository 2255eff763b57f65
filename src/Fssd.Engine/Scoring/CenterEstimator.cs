using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring;

/// <summary>Estimates the Feature Space Singularity F* of a model, per tap.</summary>
public static class CenterEstimator
{
    /// <summary>The paper's number of noise images for F* (Section 4: "100 uniform noise samples").</summary>
    public const int DefaultNoiseSamples = 100;

    private const int NoiseBatch = 50;

    /// <summary>The mean feature of <paramref name="samples"/> noise images drawn from <paramref name="seed"/>.</summary>
    public static FssCenter FromNoise(LoadedModel model, int samples, long seed, CenterSource source)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "At least one noise sample.");
        if (source == CenterSource.Inputs) throw new ArgumentException("Noise centers are UniformNoise or AuthorsNoise.", nameof(source));
        var spec = model.Info.InputSpec;
        using var generator = new Generator((ulong)seed);
        var sums = new double[model.Taps.Count][];
        for (int start = 0; start < samples; start += NoiseBatch)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(NoiseBatch, samples - start);
            var shape = new long[] { n, spec.Channels, spec.Height, spec.Width };
            Tensor input = source == CenterSource.UniformNoise
                ? ImageTensors.Normalize(ScaleUnit(rand(shape, generator: generator), spec), spec)
                : CenteredBytes(randint(0, 256, shape, generator: generator));
            Accumulate(model, input.to(model.Device), sums);
        }
        return Build(model, sums, samples, source, seed);
    }

    /// <summary>The mean feature of given inputs (normalized batches on any device).</summary>
    public static FssCenter FromInputs(LoadedModel model, IEnumerable<Tensor> normalizedBatches)
    {
        var sums = new double[model.Taps.Count][];
        int count = 0;
        foreach (var batch in normalizedBatches)
        {
            using var owned = batch;
            using var scope = NewDisposeScope();
            count += (int)batch.shape[0];
            Accumulate(model, batch.to(model.Device), sums);
        }
        if (count == 0) throw new FssdDataException("No input could be read to estimate the center from.");
        return Build(model, sums, count, CenterSource.Inputs, null);
    }

    /// <summary>The mean feature of decoded inputs (channels first, at the model's size, 0..255).</summary>
    public static FssCenter FromInputs(LoadedModel model, IReadOnlyList<byte[]> inputs)
    {
        var spec = model.Info.InputSpec;
        int size = spec.Channels * spec.Height * spec.Width;
        IEnumerable<Tensor> Batches()
        {
            for (int start = 0; start < inputs.Count; start += NoiseBatch)
            {
                int n = Math.Min(NoiseBatch, inputs.Count - start);
                var buffer = new byte[n * size];
                for (int i = 0; i < n; i++) Buffer.BlockCopy(inputs[start + i], 0, buffer, i * size, size);
                using var bytes = tensor(buffer, new long[] { n, spec.Channels, spec.Height, spec.Width }, dtype: ScalarType.Byte);
                yield return ImageTensors.ToInput(bytes, spec, model.Device);
            }
        }
        return FromInputs(model, Batches());
    }

    /// <summary>Values in [0, 1) scaled to the spec's value range.</summary>
    private static Tensor ScaleUnit(Tensor unit, FssdInputSpec spec)
    {
        // Scalars held until the calls return (see HeldScalars).
        using var width = (spec.ValueRange[1] - spec.ValueRange[0]).ToScalar();
        using var low = spec.ValueRange[0].ToScalar();
        return unit.mul(width).add_(low, HeldScalars.One);
    }

    /// <summary>Random bytes 0..255 as (b − 127.5) / 255.</summary>
    private static Tensor CenteredBytes(Tensor bytes)
    {
        using var middle = 127.5.ToScalar();
        using var range = 255.0.ToScalar();
        return bytes.to_type(ScalarType.Float32).sub_(middle).div_(range);
    }

    private static void Accumulate(LoadedModel model, Tensor input, double[][] sums)
    {
        using var noGrad = no_grad();
        using var output = model.Forward(input);
        for (int k = 0; k < output.Features.Count; k++)
        {
            var total = output.Features[k].to_type(ScalarType.Float64).sum(new long[] { 0 }).cpu().data<double>().ToArray();
            if (sums[k] is null) sums[k] = total;
            else for (int i = 0; i < total.Length; i++) sums[k][i] += total[i];
        }
    }

    private static FssCenter Build(LoadedModel model, double[][] sums, int count, CenterSource source, long? seed) => new()
    {
        Model = model.Info.Name,
        ModelSha256 = model.Info.Sha256,
        Source = source,
        Samples = count,
        Seed = seed,
        CreatedUtc = DateTime.UtcNow,
        Taps = model.Taps.Select((t, k) => new FssCenterTap
        {
            Name = t.Name, Size = sums[k].Length, Vector = sums[k].Select(v => (float)(v / count)).ToArray(),
        }).ToList(),
    };
}
