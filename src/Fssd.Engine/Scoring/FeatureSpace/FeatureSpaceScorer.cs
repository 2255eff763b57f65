using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Scoring.Baselines;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.FeatureSpace;

/// <summary>
/// Scores a normalised batch with a feature-space detector (Knn or Gaussian): one column per layer, each
/// the layer's score of the tap's features (feature maps averaged over space, as the tap reduces them).
/// Needs no classifier head; predictions come only from a model that has one.
/// </summary>
public sealed class FeatureSpaceScorer : IDisposable
{
    private readonly LoadedModel _model;
    private readonly int[] _taps;
    private readonly NeighborBank?[] _banks;
    private readonly ClassGaussians?[] _gaussians;

    private FeatureSpaceScorer(LoadedModel model, int[] taps, NeighborBank?[] banks, ClassGaussians?[] gaussians)
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
        int[] taps = detector.Layers.Select(l => model.TapIndex(l.Name)).ToArray();
        var banks = new NeighborBank?[taps.Length];
        var gaussians = new ClassGaussians?[taps.Length];
        try
        {
            for (int j = 0; j < taps.Length; j++)
            {
                string tap = detector.Layers[j].Name;
                if (detector.Method == DetectorMethod.Knn)
                    banks[j] = NeighborBank.FromData(detector.Banks.Single(b => b.Tap.Equals(tap, StringComparison.OrdinalIgnoreCase)), detector.Neighbors, model.Device);
                else
                    gaussians[j] = ClassGaussians.FromData(detector.Gaussians.Single(g => g.Tap.Equals(tap, StringComparison.OrdinalIgnoreCase)), model.Device);
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
    internal static FeatureSpaceScorer Of(LoadedModel model, int[] taps, NeighborBank?[] banks, ClassGaussians?[] gaussians) =>
        new(model, taps, banks, gaussians);

    /// <summary>How many score columns <see cref="Score"/> returns.</summary>
    public int Columns => _taps.Length;

    /// <summary>Each tap's features [B, D_t] of a normalised batch, in the order of <paramref name="taps"/> (no gradients).</summary>
    public static Tensor[] Features(LoadedModel model, Tensor input, IReadOnlyList<int> taps)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.Forward(input);
        return taps.Select(t => output.Features[t].flatten(1).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>Scores a normalised batch [B, C, H, W]: [input, layer], and the logits (null without a classifier).</summary>
    public (double[,] Columns, Tensor? Logits) Score(Tensor input)
    {
        using var noGrad = no_grad();
        var output = _model.Forward(input);
        var result = new double[input.shape[0], _taps.Length];
        for (int j = 0; j < _taps.Length; j++)
        {
            using var scope = NewDisposeScope();
            var features = output.Features[_taps[j]].flatten(1);
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
