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
/// of the inputs with a Gaussian fitted on the other four fifths. Several layers are standardised on those
/// held-out scores and combined, with equal weights when taps were named, by their minimum for Knn's default
/// layers; one layer is its score as it is.
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
    /// taps named (their own reductions, equal weights), with k = <paramref name="neighbors"/> (Knn). With no
    /// taps named, a Gaussian reads the model's last feature, and Knn reads <see cref="DefaultLayers"/>: the last
    /// feature and the texture of the stage before it, combined by their minimum.
    /// </summary>
    public static FssdDetector Create(DetectorMethod method, LoadedModel model, IReadOnlyList<byte[]> inputs, IReadOnlyList<string>? layers,
        int neighbors, double targetTpr, long seed, string? name, string? validationSource, Action<string>? progress, CancellationToken cancellation,
        int maxRows = NeighborBank.MaxRows) =>
        CreateWithHeldOut(method, model, inputs, layers, neighbors, targetTpr, seed, name, validationSource, progress, cancellation, maxRows).Detector;

    /// <summary>
    /// As <see cref="Create"/>, with each layer's held-out scores of the fitted inputs ([layer][input]: Knn's
    /// leave-one-out scores, the Gaussian's other-folds scores), for callers that combine them with other scores.
    /// </summary>
    public static (FssdDetector Detector, double[][] HeldOut) CreateWithHeldOut(DetectorMethod method, LoadedModel model, IReadOnlyList<byte[]> inputs,
        IReadOnlyList<string>? layers, int neighbors, double targetTpr, long seed, string? name, string? validationSource, Action<string>? progress,
        CancellationToken cancellation, int maxRows = NeighborBank.MaxRows)
    {
        if (method is not (DetectorMethod.Knn or DetectorMethod.Gaussian))
            throw new ArgumentException($"{method} is not a feature-space method (Knn or Gaussian).", nameof(method));
        if (method == DetectorMethod.Knn && inputs.Count < neighbors + 1)
            throw new FssdDataException($"Knn with k = {neighbors} needs at least {neighbors + 1} in-distribution inputs (each is scored against the others); it has {inputs.Count}.");
        if (method == DetectorMethod.Gaussian && inputs.Count < MinGaussianInputs)
            throw new FssdDataException($"A Gaussian detector needs at least {MinGaussianInputs} in-distribution inputs; it has {inputs.Count}.");
        var clock = Stopwatch.StartNew();
        using var use = model.Use();
        FeatureLayer[] taps = layers is not null
            ? layers.Select(model.TapIndex).Distinct().Order().Select(t => new FeatureLayer(t, model.Taps[t].Reduction)).ToArray()
            : method == DetectorMethod.Knn ? DefaultLayers(model, inputs[0]).ToArray()
            : new[] { new FeatureLayer(FssdScorer.DefaultTap(model), model.Taps[FssdScorer.DefaultTap(model)].Reduction) };
        var combination = layers is null && taps.Length > 1 ? LayerCombination.Minimum : LayerCombination.WeightedSum;
        if (method == DetectorMethod.Gaussian)
            foreach (var layer in taps)
                if (model.Info.Layers[layer.Tap].FeatureSize > MaxGaussianDimension)
                    throw new FssdDataException($"Tap '{model.Taps[layer.Tap].Name}' gives {model.Info.Layers[layer.Tap].FeatureSize} features; a Gaussian covers at most {MaxGaussianDimension}. " +
                        "Name narrower taps with -Layer, or use Knn.");
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
            var layerList = taps.Select((layer, j) =>
            {
                string tapName = model.Taps[layer.Tap].Name;
                var own = layer.Reduction == model.Taps[layer.Tap].Reduction ? (TapReduction?)null : layer.Reduction;
                string key = KeyOf(tapName, own);
                if (taps.Length == 1) return new FssdDetectorLayer { Name = tapName, Reduction = own, Key = key, Weight = 1, Mean = 0, Std = 1 };
                double mean = heldOut[j].Average();
                double std = Math.Sqrt(heldOut[j].Select(v => (v - mean) * (v - mean)).Average());
                double weight = combination == LayerCombination.Minimum ? 1 : 1.0 / taps.Length;
                return new FssdDetectorLayer { Name = tapName, Reduction = own, Key = key, Weight = weight, Mean = mean, Std = std > 0 ? std : 1 };
            }).ToList();
            if (layerList.Select(l => l.Key).Distinct(StringComparer.OrdinalIgnoreCase).Count() != layerList.Count)
                throw new FssdDataException($"The layers' names collide ({string.Join(", ", layerList.Select(l => l.Key))}): the model has a tap named like another tap's texture. Name the taps with -Layer.");
            var combined = Enumerable.Range(0, inputs.Count).Select(i => DetectorMath.Combine(0, layerList, heldOut.Select(h => h[i]).ToArray(), combination)).ToArray();
            var (threshold, achieved) = DetectorMath.ThresholdAt(combined, targetTpr);
            string tapsText = combination == LayerCombination.Minimum
                ? "the least of " + string.Join(" and ", layerList.Select(Describe))
                : string.Join(", ", layerList.Select(Describe));
            string fitted = method == DetectorMethod.Knn
                ? $"{kept.Length} of {inputs.Count} in-distribution input(s), features scaled to unit length" + (kept.Length < inputs.Count ? $" (a subsample, seed {seed})" : "")
                : $"{inputs.Count} in-distribution input(s), Ledoit-Wolf shrinkage {string.Join(", ", shrinkage.Select(s => s.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)))}";
            progress?.Invoke($"{method}: fitted on {fitted} at {tapsText}; threshold {threshold:G6} keeps {achieved:P1} of the held-out scores.");
            return (new FssdDetector
            {
                Name = name ?? $"{model.Info.Name}-{method.ToString().ToLowerInvariant()}",
                Method = method,
                Models = new[] { model.Info },
                Layers = layerList,
                Combination = combination,
                Banks = banks.Where(b => b is not null).Select((b, j) => b!.ToData(0, layerList[j].Name, layerList[j].Reduction)).ToList(),
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
            }, heldOut);
        }
        finally
        {
            foreach (var f in features) f.Dispose();
            foreach (var b in banks) b?.Dispose();
            foreach (var g in gaussians) g?.Dispose();
        }
    }

    /// <summary>How scores name a layer: its tap, with <see cref="FssdDetectorLayer.SpatialStdSuffix"/> when it reads the tap's texture.</summary>
    public static string KeyOf(string tap, TapReduction? reduction) =>
        reduction == TapReduction.SpatialStd ? tap + FssdDetectorLayer.SpatialStdSuffix : tap;

    private static string Describe(FssdDetectorLayer layer) =>
        layer.Reduction == TapReduction.SpatialStd ? $"{layer.Name} (texture: each channel's spatial standard deviation)" : layer.Name;

    /// <summary>
    /// Knn's layers when none are named: the model's last feature (<see cref="FssdScorer.DefaultTap"/>), and the
    /// texture (<see cref="TapReduction.SpatialStd"/>) of the deepest feature map with more than one position
    /// that the last feature is not pooled from (a map as wide as the last feature is taken to be its source).
    /// The last feature says what an image shows; the texture of the stage before it says how it is made —
    /// photo or drawing — which the pooled feature of an ImageNet network blurs (docs/photos.md: against
    /// drawings, 0.786 → 0.891 on the mixed "objects" set, 0.975 → 0.998 on "animals"). A model without such a
    /// map gets its last feature alone. <paramref name="sample"/> (one decoded input) finds the maps' shapes.
    /// </summary>
    public static IReadOnlyList<FeatureLayer> DefaultLayers(LoadedModel model, byte[] sample)
    {
        int last = FssdScorer.DefaultTap(model);
        var layers = new List<FeatureLayer> { new(last, model.Taps[last].Reduction) };
        int lastWidth = model.Info.Layers[last].FeatureSize;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.ForwardRaw(ImageTensors.FromSamples(new[] { sample }, model.Info.InputSpec, model.Device));
        for (int t = model.Taps.Count - 1; t >= 0; t--)
        {
            if (t == last) continue;
            var shape = output.Features[t].shape;
            if (shape.Length == 4 && shape[2] * shape[3] > 1 && shape[1] != lastWidth)
            {
                layers.Add(new FeatureLayer(t, TapReduction.SpatialStd));
                break;
            }
        }
        return layers;
    }

    /// <summary>Each layer's features [N, D] of decoded inputs, in batches, on the model's device.</summary>
    public static Tensor[] ExtractFeatures(LoadedModel model, IReadOnlyList<byte[]> inputs, IReadOnlyList<FeatureLayer> layers, Action<string>? progress,
        CancellationToken cancellation)
    {
        var parts = layers.Select(_ => new List<Tensor>()).ToArray();
        try
        {
            for (int start = 0; start < inputs.Count; start += Batch)
            {
                cancellation.ThrowIfCancellationRequested();
                int n = Math.Min(Batch, inputs.Count - start);
                using var scope = NewDisposeScope();
                var input = ImageTensors.FromSamples(inputs.Skip(start).Take(n).ToList(), model.Info.InputSpec, model.Device);
                var features = FeatureSpaceScorer.Features(model, input, layers);
                for (int j = 0; j < layers.Count; j++) parts[j].Add(features[j].to_type(ScalarType.Float32).MoveToOuterDisposeScope().DetachFromDisposeScope());
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
