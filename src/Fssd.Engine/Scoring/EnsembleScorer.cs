using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Models;

namespace Fssd.Engine.Scoring;

/// <summary>
/// The taps of one or more models scored together, in layer order: the features of a detector. All
/// models read the same decoded input (same channels and size; each normalizes it its own way).
/// Predictions come from the first model.
/// </summary>
public sealed class EnsembleScorer : IDisposable
{
    private readonly List<(FssdScorer Scorer, int[] Positions)> _parts = new();

    /// <param name="precision">The number format of the networks' passes (see <see cref="FssdScorer"/>).</param>
    public EnsembleScorer(IReadOnlyList<(LoadedModel Model, FssCenter Center, int[] Taps)> models, FssdPrecision precision = FssdPrecision.Float32)
    {
        if (models.Count == 0) throw new ArgumentException("An ensemble needs at least one model.", nameof(models));
        ModelCompatibility.RequireSameInput(models.Select(m => m.Model).ToList());
        var first = models[0].Model.Info.InputSpec;
        int position = 0;
        var keys = new List<string>();
        for (int m = 0; m < models.Count; m++)
        {
            var (model, center, taps) = models[m];
            _parts.Add((new FssdScorer(model, center, taps, precision), Enumerable.Range(position, taps.Length).ToArray()));
            position += taps.Length;
            keys.AddRange(taps.Select(t => Persistence.DetectorDocument.LayerKey(m, model.Taps[t].Name, models.Count)));
        }
        Keys = keys;
        Spec = first;
    }

    /// <summary>
    /// The scorer of a detector: each model's FSSD layers, models in order. The detector's layers must list each
    /// model's taps together, models in order, so that the scorer's columns are the detector's FSSD layers
    /// (its Knn layers, if any, come after them and are scored by <see cref="DetectorScorer"/>).
    /// </summary>
    public static EnsembleScorer ForDetector(FssdDetector detector, IReadOnlyList<LoadedModel> models, FssdPrecision precision = FssdPrecision.Float32)
    {
        if (models.Count != detector.Models.Count)
            throw new ArgumentException($"The detector '{detector.Name}' has {detector.Models.Count} model(s); {models.Count} were given.", nameof(models));
        var fssdLayers = detector.Layers.Where(l => l.Method is null).ToList();
        var scorer = new EnsembleScorer(models.Select((m, i) => (m, detector.Centers[i],
            fssdLayers.Where(l => l.ModelIndex == i).Select(l => m.TapIndex(l.Name)).ToArray())).ToList(), precision);
        var keys = fssdLayers.Select(l => Persistence.DetectorDocument.LayerKey(l.ModelIndex, l.Name, detector.Models.Count));
        if (!keys.SequenceEqual(scorer.Keys))
        {
            scorer.Dispose();
            throw new FssdModelException("The detector's layers must list each model's taps together, models in order.");
        }
        return scorer;
    }

    /// <summary>The number format the passes compute in: BFloat16 only where every model could be converted.</summary>
    public FssdPrecision Precision => _parts.All(p => p.Scorer.Precision == FssdPrecision.BFloat16) ? FssdPrecision.BFloat16 : FssdPrecision.Float32;

    /// <summary>The single model's scorer, for callers that feed normalized tensors themselves; null for several models.</summary>
    public FssdScorer? Single => _parts.Count == 1 ? _parts[0].Scorer : null;

    /// <summary>The layers' names in order ("tap", or "model&lt;i&gt;/tap" for several models).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>The input size every model reads (the first model's spec).</summary>
    public FssdInputSpec Spec { get; }

    /// <summary>
    /// Scores decoded inputs. <paramref name="stepWeights"/> (one per layer): the shared step, one backward
    /// pass per model through its layers' weighted sum; null: each layer its own step.
    /// </summary>
    public BatchScores ScoreBytes(IReadOnlyList<byte[]> samples, double epsilon, PerturbationMode mode, IReadOnlyList<double>? stepWeights = null)
    {
        CheckStepWeights(stepWeights);
        var scores = new double[samples.Count, Keys.Count];
        BatchScores? first = null;
        foreach (var (scorer, positions) in _parts)
        {
            var part = scorer.ScoreBytes(samples, epsilon, mode, PartWeights(stepWeights, positions));
            first ??= part;
            for (int i = 0; i < samples.Count; i++)
                for (int j = 0; j < positions.Length; j++)
                    scores[i, positions[j]] = part.TapScores[i, j];
        }
        return new BatchScores(scores, first!.Predicted, first.Confidence);
    }

    /// <summary>[ε][input, layer] at every ε of a grid.</summary>
    public double[][,] ScoreGrid(IReadOnlyList<byte[]> samples, IReadOnlyList<double> epsilons, PerturbationMode mode, IReadOnlyList<double>? stepWeights = null)
    {
        CheckStepWeights(stepWeights);
        var result = epsilons.Select(_ => new double[samples.Count, Keys.Count]).ToArray();
        foreach (var (scorer, positions) in _parts)
        {
            using var input = scorer.ToInput(samples);
            var part = scorer.ScoreGrid(input, epsilons, mode, PartWeights(stepWeights, positions));
            for (int e = 0; e < epsilons.Count; e++)
                for (int i = 0; i < samples.Count; i++)
                    for (int j = 0; j < positions.Length; j++)
                        result[e][i, positions[j]] = part[e][i, j];
        }
        return result;
    }

    private void CheckStepWeights(IReadOnlyList<double>? stepWeights)
    {
        if (stepWeights is not null && stepWeights.Count != Keys.Count)
            throw new ArgumentException($"A shared step needs one weight per layer ({Keys.Count}); {stepWeights.Count} were given.", nameof(stepWeights));
    }

    private static double[]? PartWeights(IReadOnlyList<double>? stepWeights, int[] positions) =>
        stepWeights is null ? null : positions.Select(p => stepWeights[p]).ToArray();

    public void Dispose()
    {
        foreach (var (scorer, _) in _parts) scorer.Dispose();
    }
}
