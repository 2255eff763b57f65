using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Scoring.Baselines;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.FeatureSpace;

/// <summary>
/// Makes Knn and Gaussian detectors from in-distribution inputs alone. Each tap's statistics are fitted on
/// the tap's features of every input (Knn: at most <see cref="NeighborBank.MaxRows"/> of them). The
/// threshold is set on held-out scores, never on scores of an input against statistics it helped fit: Knn
/// scores each fitted input with its own bank entry left out (leave-one-out); Gaussian scores each fifth
/// of the inputs with a Gaussian fitted on the other four fifths. Several taps are combined with equal
/// weights after standardising each on those held-out scores; one tap is its score as it is.
/// </summary>
public static class FeatureSpaceCalibrator
{
    /// <summary>Folds of the Gaussian's held-out scores.</summary>
    public const int GaussianFolds = 5;

    /// <summary>Inputs a Gaussian needs: two per fold at least.</summary>
    public const int MinGaussianInputs = 2 * GaussianFolds;

    /// <summary>The widest tap a Gaussian covers: its precision is D² float64 values (128 MB at 4096).</summary>
    public const int MaxGaussianDimension = 4096;

    /// <summary>Inputs per forward pass while fitting.</summary>
    private const int Batch = 32;

    /// <summary>
    /// A Knn or Gaussian detector for <paramref name="model"/> from decoded in-distribution inputs, on the
    /// taps named (default: the model's default tap, its last feature), with k = <paramref name="neighbors"/> (Knn).
    /// </summary>
    public static FssdDetector Create(DetectorMethod method, LoadedModel model, IReadOnlyList<byte[]> inputs, IReadOnlyList<string>? layers,
        int neighbors, double targetTpr, long seed, string? name, string? validationSource, Action<string>? progress, CancellationToken cancellation,
        int maxRows = NeighborBank.MaxRows)
    {
        if (method is not (DetectorMethod.Knn or DetectorMethod.Gaussian))
            throw new ArgumentException($"{method} is not a feature-space method (Knn or Gaussian).", nameof(method));
        if (method == DetectorMethod.Knn && inputs.Count < neighbors + 1)
            throw new FssdDataException($"Knn with k = {neighbors} needs at least {neighbors + 1} in-distribution inputs (each is scored against the others); it has {inputs.Count}.");
        if (method == DetectorMethod.Gaussian && inputs.Count < MinGaussianInputs)
            throw new FssdDataException($"A Gaussian detector needs at least {MinGaussianInputs} in-distribution inputs; it has {inputs.Count}.");
        var clock = Stopwatch.StartNew();
        int[] taps = layers is null ? new[] { FssdScorer.DefaultTap(model) } : layers.Select(model.TapIndex).Distinct().Order().ToArray();
        if (method == DetectorMethod.Gaussian)
            foreach (int t in taps)
                if (model.Info.Layers[t].FeatureSize > MaxGaussianDimension)
                    throw new FssdDataException($"Tap '{model.Taps[t].Name}' gives {model.Info.Layers[t].FeatureSize} features; a Gaussian covers at most {MaxGaussianDimension}. " +
                        "Name narrower taps with -Layer, or use Knn.");
        using var use = model.Use();
        var features = ExtractFeatures(model, inputs, taps, progress, cancellation);
        var banks = new NeighborBank?[taps.Length];
        var gaussians = new ClassGaussians?[taps.Length];
        var shrinkage = new double[taps.Length];
        var heldOut = new double[taps.Length][];
        int[] kept = NeighborBank.KeptRows(inputs.Count, maxRows, seed);
        try
        {
            for (int j = 0; j < taps.Length; j++)
            {
                cancellation.ThrowIfCancellationRequested();
                if (method == DetectorMethod.Knn)
                {
                    banks[j] = NeighborBank.Fit(features[j], neighbors, kept);
                    heldOut[j] = KnnHeldOut(banks[j]!, features[j], kept, inputs.Count);
                }
                else
                {
                    heldOut[j] = GaussianHeldOut(features[j], seed, cancellation);
                    (gaussians[j], shrinkage[j]) = ClassGaussians.FitShrunk(features[j]);
                }
            }
            var layerList = taps.Select((t, j) =>
            {
                string tapName = model.Taps[t].Name;
                if (taps.Length == 1) return new FssdDetectorLayer { Name = tapName, Key = tapName, Weight = 1, Mean = 0, Std = 1 };
                double mean = heldOut[j].Average();
                double std = Math.Sqrt(heldOut[j].Select(v => (v - mean) * (v - mean)).Average());
                return new FssdDetectorLayer { Name = tapName, Key = tapName, Weight = 1.0 / taps.Length, Mean = mean, Std = std > 0 ? std : 1 };
            }).ToList();
            var combined = Enumerable.Range(0, inputs.Count).Select(i => DetectorMath.Combine(0, layerList, heldOut.Select(h => h[i]).ToArray())).ToArray();
            var (threshold, achieved) = DetectorMath.ThresholdAt(combined, targetTpr);
            string tapsText = string.Join(", ", layerList.Select(l => l.Name));
            string fitted = method == DetectorMethod.Knn
                ? $"{kept.Length} of {inputs.Count} in-distribution input(s), features scaled to unit length" + (kept.Length < inputs.Count ? $" (a subsample, seed {seed})" : "")
                : $"{inputs.Count} in-distribution input(s), Ledoit-Wolf shrinkage {string.Join(", ", shrinkage.Select(s => s.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)))}";
            progress?.Invoke($"{method}: fitted on {fitted} at {tapsText}; threshold {threshold:G6} keeps {achieved:P1} of the held-out scores.");
            return new FssdDetector
            {
                Name = name ?? $"{model.Info.Name}-{method.ToString().ToLowerInvariant()}",
                Method = method,
                Models = new[] { model.Info },
                Layers = layerList,
                Banks = banks.Where(b => b is not null).Select((b, j) => b!.ToData(0, layerList[j].Name)).ToList(),
                Neighbors = method == DetectorMethod.Knn ? neighbors : 0,
                Gaussians = gaussians.Where(g => g is not null).Select((g, j) => g!.ToData(0, layerList[j].Name)).ToList(),
                Threshold = threshold,
                TargetTpr = targetTpr,
                Calibration = CalibrationKind.ThresholdOnly,
                TrainingSource = fitted,
                ValidationSource = validationSource ?? (method == DetectorMethod.Knn
                    ? $"{inputs.Count} in-distribution input(s), each scored leaving itself out"
                    : $"{inputs.Count} in-distribution input(s), each scored by a Gaussian fitted on the other {GaussianFolds - 1} of {GaussianFolds} folds"),
                ValidationCount = inputs.Count,
                ValidationTpr = achieved,
                CalibrationSeconds = clock.Elapsed.TotalSeconds,
                CreatedUtc = DateTime.UtcNow,
            };
        }
        finally
        {
            foreach (var f in features) f.Dispose();
            foreach (var b in banks) b?.Dispose();
            foreach (var g in gaussians) g?.Dispose();
        }
    }

    /// <summary>Each tap's features [N, D_t] of decoded inputs, in batches, on the model's device.</summary>
    public static Tensor[] ExtractFeatures(LoadedModel model, IReadOnlyList<byte[]> inputs, IReadOnlyList<int> taps, Action<string>? progress,
        CancellationToken cancellation)
    {
        var parts = taps.Select(_ => new List<Tensor>()).ToArray();
        try
        {
            for (int start = 0; start < inputs.Count; start += Batch)
            {
                cancellation.ThrowIfCancellationRequested();
                int n = Math.Min(Batch, inputs.Count - start);
                using var scope = NewDisposeScope();
                var input = ImageTensors.FromSamples(inputs.Skip(start).Take(n).ToList(), model.Info.InputSpec, model.Device);
                var features = FeatureSpaceScorer.Features(model, input, taps);
                for (int j = 0; j < taps.Count; j++) parts[j].Add(features[j].to_type(ScalarType.Float32).MoveToOuterDisposeScope().DetachFromDisposeScope());
                progress?.Invoke($"Features: {start + n} of {inputs.Count} in-distribution inputs.");
            }
            return parts.Select(p =>
            {
                using var scope = NewDisposeScope();
                return cat(p, 0).MoveToOuterDisposeScope().DetachFromDisposeScope();
            }).ToArray();
        }
        finally
        {
            foreach (var list in parts) foreach (var t in list) t.Dispose();
        }
    }

    /// <summary>Leave-one-out Knn scores of the fitted inputs: an input in the bank is scored without its own entry.</summary>
    public static double[] KnnHeldOut(NeighborBank bank, Tensor features, int[] kept, int count)
    {
        var self = Enumerable.Repeat(-1L, count).ToArray();
        for (int p = 0; p < kept.Length; p++) self[kept[p]] = p;
        using var scope = NewDisposeScope();
        return bank.Score(features, self).cpu().data<double>().ToArray();
    }

    /// <summary>Each input's Gaussian score from a Gaussian fitted without its fold (folds dealt out by <paramref name="seed"/>).</summary>
    public static double[] GaussianHeldOut(Tensor features, long seed, CancellationToken cancellation)
    {
        int n = (int)features.shape[0];
        int[] order = Shuffle.Permutation(n, seed);
        var scores = new double[n];
        for (int fold = 0; fold < GaussianFolds; fold++)
        {
            cancellation.ThrowIfCancellationRequested();
            var test = order.Where((_, i) => i % GaussianFolds == fold).ToArray();
            var train = order.Where((_, i) => i % GaussianFolds != fold).ToArray();
            using var scope = NewDisposeScope();
            var (gaussian, _) = ClassGaussians.FitShrunk(features.index_select(0, tensor(train.Select(i => (long)i).ToArray(), device: features.device)));
            using (gaussian)
            {
                var values = gaussian.Score(features.index_select(0, tensor(test.Select(i => (long)i).ToArray(), device: features.device))).cpu().data<double>().ToArray();
                for (int i = 0; i < test.Length; i++) scores[test[i]] = values[i];
            }
        }
        return scores;
    }
}
