using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Scoring.Baselines;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.FeatureSpace;

/// <summary>A feature-space detector's layer: a tap of the model, and how its raw output is reduced to features.</summary>
public readonly record struct FeatureLayer(int Tap, TapReduction Reduction);

/// <summary>
/// Scores a normalised batch with a feature-space detector (Knn or Gaussian): one column per layer, each
/// the layer's score of the tap's features (feature maps reduced as the tap does, or to their channels'
/// spatial standard deviations where the layer says so).
/// Needs no classifier head; predictions come only from a model that has one.
/// </summary>
public sealed class FeatureSpaceScorer : IDisposable
{
    private readonly LoadedModel _model;
    private readonly FeatureLayer[] _taps;
    private readonly NeighborBank?[] _banks;
    private readonly ClassGaussians?[] _gaussians;

    private FeatureSpaceScorer(LoadedModel model, FeatureLayer[] taps, NeighborBank?[] banks, ClassGaussians?[] gaussians)
    {
        _model = model;
        _taps = taps;
        _banks = banks;
        _gaussians = gaussians;
    }

    /// <summary>The scorer of a Knn or Gaussian detector on its model: what it fitted, rebuilt on the model's device.</summary>
    public static FeatureSpaceScorer For(FssdDetector detector, LoadedModel model)
    {
        if (detector.Method is not (DetectorMethod.Knn or DetectorMethod.Gaussian))
            throw new ArgumentException($"A {detector.Method} detector is not scored in feature space.", nameof(detector));
        var taps = detector.Layers.Select(l =>
        {
            int t = model.TapIndex(l.Name);
            return new FeatureLayer(t, l.Reduction ?? model.Taps[t].Reduction);
        }).ToArray();
        var fitted = detector.Method == DetectorMethod.Knn ? detector.Banks.Count : detector.Gaussians.Count;
        if (fitted != taps.Length)
            throw new FssdModelException($"The {detector.Method} detector '{detector.Name}' has {taps.Length} layer(s) but fitted statistics for {fitted}.");
        var banks = new NeighborBank?[taps.Length];
        var gaussians = new ClassGaussians?[taps.Length];
        try
        {
            // Fitted statistics are in layer order (the detector file checks it); a tap may appear twice, as its mean and its texture.
            for (int j = 0; j < taps.Length; j++)
            {
                string tap = detector.Layers[j].Name;
                string what = detector.Method == DetectorMethod.Knn ? detector.Banks[j].Tap : detector.Gaussians[j].Tap;
                if (!what.Equals(tap, StringComparison.OrdinalIgnoreCase))
                    throw new FssdModelException($"The {detector.Method} detector '{detector.Name}' has the statistics of tap '{what}' where layer {j} reads '{tap}'.");
                if (detector.Method == DetectorMethod.Knn)
                    banks[j] = NeighborBank.FromData(detector.Banks[j], detector.Neighbors, model.Device);
                else
                    gaussians[j] = ClassGaussians.FromData(detector.Gaussians[j], model.Device);
            }
        }
        catch
        {
            foreach (var b in banks) b?.Dispose();
            foreach (var g in gaussians) g?.Dispose();
            throw;
        }
        return new FeatureSpaceScorer(model, taps, banks, gaussians);
    }

    /// <summary>The scorer of freshly fitted statistics (calibration's): one bank or Gaussian per tap; it takes ownership.</summary>
    internal static FeatureSpaceScorer Of(LoadedModel model, FeatureLayer[] taps, NeighborBank?[] banks, ClassGaussians?[] gaussians) =>
        new(model, taps, banks, gaussians);

    /// <summary>How many score columns <see cref="Score"/> returns.</summary>
    public int Columns => _taps.Length;

    /// <summary>Each layer's features [B, D] of a normalised batch, in the order of <paramref name="layers"/> (no gradients).</summary>
    public static Tensor[] Features(LoadedModel model, Tensor input, IReadOnlyList<FeatureLayer> layers)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.ForwardRaw(input);
        return layers.Select(l => TapDefinition.Reduce(output.Features[l.Tap], l.Reduction).flatten(1).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Scores a normalised batch [B, C, H, W]: [input, layer], and the logits (null without a classifier).</summary>
    public (double[,] Columns, Tensor? Logits) Score(Tensor input)
    {
        using var noGrad = no_grad();
        var output = _model.ForwardRaw(input);
        var result = new double[input.shape[0], _taps.Length];
        for (int j = 0; j < _taps.Length; j++)
        {
            using var scope = NewDisposeScope();
            var features = TapDefinition.Reduce(output.Features[_taps[j].Tap], _taps[j].Reduction).flatten(1);
            var column = _banks[j] is { } bank ? bank.Score(features) : _gaussians[j]!.Score(features);
            ScoringTensors.CopyColumn(column, result, j);
        }
        return (result, _model.Info.HasClassifier ? output.Logits : null);
    }

    public void Dispose()
    {
        foreach (var b in _banks) b?.Dispose();
        foreach (var g in _gaussians) g?.Dispose();
    }
}
