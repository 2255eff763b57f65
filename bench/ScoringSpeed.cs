#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Fssd;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Scoring;
using static TorchSharp.torch;

// Compiled by bench/Compare-FssdSpeed.ps1 against the module's engine at run time and loaded into the
// module's own load context; it calls the engine's public API only.
namespace Fssd.Bench;

/// <summary>One part of the scoring time, measured alone: images, seconds, images per second.</summary>
public sealed class FssdSpeedFigure
{
    public string Stage { get; init; } = "";
    public int Images { get; init; }
    public double Seconds { get; init; }
    public double ImagesPerSecond => Seconds > 0 ? Images / Seconds : 0;
    public override string ToString() => $"{Stage}: {Images} images in {Seconds:F2} s ({ImagesPerSecond:F0}/s)";
}

/// <summary>
/// The parts of Measure-Fssd's time measured one by one, for the speed benchmark: decoding files on
/// the worker threads Measure-Fssd uses, and the compute-only floor — the same scorer on normalized
/// batches already in memory (forward only at ε = 0; otherwise one forward, then a backward and a forward per
/// tap, or one forward, one backward and one forward for a shared step).
/// </summary>
public static class ScoringSpeed
{
    /// <summary>Decodes files as Measure-Fssd does (in order, on worker threads); the samples and the time taken.</summary>
    public static (List<byte[]> Samples, FssdSpeedFigure Figure) Decode(IReadOnlyList<string> paths, FssdInputSpec spec, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var samples = new List<byte[]>(paths.Count);
        using (var stream = new OrderedImageStream(spec, 512, cancellation))
        {
            foreach (var path in paths)
            {
                if (stream.Count >= stream.Capacity) Collect(stream.Take(128), samples);
                stream.Add(path);
            }
            while (stream.Count > 0) Collect(stream.Take(128), samples);
        }
        return (samples, new FssdSpeedFigure { Stage = "decode", Images = samples.Count, Seconds = clock.Elapsed.TotalSeconds });
    }

    private static void Collect(List<DecodedInput> decoded, List<byte[]> into)
    {
        foreach (var d in decoded)
            into.Add(d.Pixels ?? throw d.Error ?? new FssdDataException($"'{d.Path}' was not decoded."));
    }

    /// <summary>
    /// The compute-only floor of a single-model detector's scorer: samples are normalized into one tensor
    /// first (not timed), then scored batch by batch at <paramref name="epsilon"/> on the scoring threads
    /// Measure-Fssd uses (on the CPU one single-threaded worker per libtorch thread, see
    /// <see cref="ScoringWorkers{TTag}"/>), scores read back to the CPU.
    /// </summary>
    public static FssdSpeedFigure Compute(EnsembleScorer scorer, IReadOnlyList<byte[]> samples, int batch, double epsilon, PerturbationMode mode,
        IReadOnlyList<double>? stepWeights, string stage, CancellationToken cancellation)
    {
        var single = scorer.Single ?? throw new ArgumentException("The compute floor is measured for single-model detectors.", nameof(scorer));
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch size must be at least 1.");
        using var all = single.ToInput(samples);
        using var workers = ScoringWorkers<int>.ForDevice(all.device, get_num_threads(), cancellation);
        BatchScores? Score(int start, int count)
        {
            using var scope = NewDisposeScope();
            return single.Score(all.narrow(0, start, count), epsilon, mode, stepWeights);
        }
        // Warm-up, one batch per worker: the first batches pay for allocation and kernel selection.
        for (int w = 0; w < workers.Workers; w++) workers.Submit(w, () => Score(0, Math.Min(batch, samples.Count)));
        while (workers.TryTake(true, out _, out _)) { }
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < samples.Count; start += batch)
        {
            int from = start, count = Math.Min(batch, samples.Count - start);
            workers.Submit(from, () => Score(from, count));
            while (workers.TryTake(workers.InFlight >= workers.Capacity, out _, out _)) { }
        }
        while (workers.TryTake(true, out _, out _)) { }
        return new FssdSpeedFigure { Stage = stage, Images = samples.Count, Seconds = clock.Elapsed.TotalSeconds };
    }
}
