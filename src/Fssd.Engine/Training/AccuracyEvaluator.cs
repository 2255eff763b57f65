using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using static TorchSharp.torch;

namespace Fssd.Engine.Training;

/// <summary>Top-1 accuracy of a network on a labelled <see cref="ImageSet"/>, per class and overall.</summary>
public static class AccuracyEvaluator
{
    /// <summary>Inputs per forward pass: 64 measured fastest for LeNet on this 2-core machine (7.6 s for 10,000 images; 500 took 16 s).</summary>
    public static int BatchSize { get; set; } = 64;

    /// <param name="logits">The network's logits for a normalized input batch.</param>
    public static (int[] Counts, int[] Correct) Evaluate(Func<Tensor, Tensor> logits, ImageSet set, FssdInputSpec spec,
        Device device, int classCount, CancellationToken cancellation)
    {
        Runtime.NativeRuntime.EnsureLoaded();
        if (set.Labels is null) throw new FssdDataException($"The dataset '{set.Name}' has no labels; accuracy needs them.");
        var counts = new int[classCount];
        var correct = new int[classCount];
        using var all = ImageTensors.ToByteTensor(set);
        using var noGrad = no_grad();
        for (int start = 0; start < set.Count; start += BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int length = Math.Min(BatchSize, set.Count - start);
            var input = ImageTensors.ToInput(all.narrow(0, start, length), spec, device);
            var predicted = logits(input).argmax(1).cpu().data<long>().ToArray();
            for (int i = 0; i < length; i++)
            {
                int label = set.Labels[start + i];
                if (label >= classCount)
                    throw new FssdDataException($"'{set.Sources[start + i]}' has label {label} but the model has {classCount} classes.");
                counts[label]++;
                if (predicted[i] == label) correct[label]++;
            }
        }
        return (counts, correct);
    }

    public static FssdAccuracy Summarize(string model, string dataset, IReadOnlyList<string> classNames, int[] counts, int[] correct,
        int skipped, double seconds) => new()
    {
        Model = model,
        Dataset = dataset,
        Count = counts.Sum(),
        Correct = correct.Sum(),
        Skipped = skipped,
        Seconds = seconds,
        PerClass = Enumerable.Range(0, counts.Length).Select(i => new FssdClassAccuracy
        {
            Label = i, ClassName = i < classNames.Count ? classNames[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Count = counts[i], Correct = correct[i],
        }).ToList(),
    };
}
