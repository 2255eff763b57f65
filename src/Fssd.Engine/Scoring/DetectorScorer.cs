using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Scoring.Baselines;
using Fssd.Engine.Scoring.FeatureSpace;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring;

/// <summary>
/// Scores decoded inputs with a detector of any method, or with raw FSSD taps: score columns per input
/// (one per layer), the detector's score from them, its threshold, and the prediction of the first model.
/// The one scoring path Measure-Fssd, the benchmarks and C# callers share.
/// </summary>
public abstract class DetectorScorer : IDisposable
{
    /// <summary>Decoded inputs per batch unless a caller says otherwise.</summary>
    public const int DefaultBatchSize = 128;

    /// <summary>
    /// The stride between batches' seeds: batch i of a run seeds its random draws (MC Dropout's masks) with
    /// seed + i · stride, so a score depends on the batch, never on which thread ran it or when.
    /// </summary>
    public const long SeedStride = 1_000_003;

    protected DetectorScorer(LoadedModel predicting, IReadOnlyList<string> keys, double? threshold)
    {
        Model = predicting;
        Keys = keys;
        Threshold = threshold;
    }

    /// <summary>The model whose classes predictions name (a detector's first model).</summary>
    public LoadedModel Model { get; }

    /// <summary>The score columns' names, in order ("tap", "model1/tap", or the method's name).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Scores below it are out of distribution; null for raw taps.</summary>
    public double? Threshold { get; }

    /// <summary>The input every model reads.</summary>
    public FssdInputSpec Spec => Model.Info.InputSpec;

    /// <summary>The number format the scoring passes compute in.</summary>
    public virtual FssdPrecision Precision => FssdPrecision.Float32;

    /// <summary>How many threads may score batches at once (1 where a method draws random numbers in batch order).</summary>
    public virtual int MaxWorkers => int.MaxValue;

    /// <summary>Scores one batch of decoded inputs (channels first, at the model's size, 0..255); <paramref name="batch"/> seeds its random draws.</summary>
    public abstract BatchScores Score(IReadOnlyList<byte[]> samples, long batch);

    /// <summary>An input's score from its columns.</summary>
    public abstract double Combine(IReadOnlyList<double> columns);

    /// <summary>Every decoded input's score, in batches of <paramref name="batchSize"/> (batch i seeds its random draws with i).</summary>
    public double[] ScoreAll(IReadOnlyList<byte[]> inputs, int batchSize, System.Threading.CancellationToken cancellation)
    {
        var result = new double[inputs.Count];
        var row = new double[Keys.Count];
        for (int start = 0; start < inputs.Count; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = inputs.Skip(start).Take(batchSize).ToList();
            var scores = Score(part, start / batchSize);
            for (int i = 0; i < part.Count; i++)
            {
                for (int k = 0; k < row.Length; k++) row[k] = scores.TapScores[i, k];
                result[start + i] = Combine(row);
            }
        }
        return result;
    }

    public abstract void Dispose();

    /// <summary>The scorer of a detector of any method, on its loaded models (in the detector's order).</summary>
    /// <param name="precision">
    /// The number format of FSSD's network passes (float32 or bfloat16; see <see cref="FssdScorer"/>); the
    /// other methods compute in float32.
    /// </param>
    public static DetectorScorer For(FssdDetector detector, IReadOnlyList<LoadedModel> models, FssdPrecision precision = FssdPrecision.Float32)
    {
        if (models.Count != detector.Models.Count)
            throw new ArgumentException($"The detector '{detector.Name}' has {detector.Models.Count} model(s); {models.Count} were given.", nameof(models));
        return detector.Method switch
        {
            DetectorMethod.FSSD => new Fssd(detector, models, precision),
            DetectorMethod.Knn or DetectorMethod.Gaussian => new FeatureSpace(detector, models[0]),
            _ => new Baseline(detector, models),
        };
    }

    /// <summary>
    /// Raw FSSD of a model's taps against a center, no weights and no threshold: the score is the default
    /// tap's FSSD, or the first named tap's. Without <paramref name="layers"/>, the taps of <see cref="TapSelection.ForScoring"/>.
    /// </summary>
    public static DetectorScorer ForTaps(LoadedModel model, FssCenter center, IReadOnlyList<string>? layers, double epsilon, PerturbationMode mode,
        FssdPrecision precision = FssdPrecision.Float32)
    {
        int[] taps = TapSelection.ForScoring(model, layers, epsilon);
        int scored = Array.IndexOf(taps, layers is null ? FssdScorer.DefaultTap(model) : model.TapIndex(layers[0]));
        return new Taps(new EnsembleScorer(new[] { (model, center, taps) }, precision), model, epsilon, mode, scored);
    }

    /// <summary>FSSD's layers, and the Knn layers an FSSD detector may carry after them (columns in the detector's layer order).</summary>
    private sealed class Fssd : DetectorScorer
    {
        private readonly EnsembleScorer _scorer;
        private readonly FssdDetector _detector;
        private readonly IReadOnlyList<double>? _stepWeights;
        private readonly FeatureSpaceScorer? _neighbors;
        private readonly IDisposable? _use;

        public Fssd(FssdDetector detector, IReadOnlyList<LoadedModel> models, FssdPrecision precision)
            : this(detector, models, EnsembleScorer.ForDetector(detector, models, precision))
        {
        }

        private Fssd(FssdDetector detector, IReadOnlyList<LoadedModel> models, EnsembleScorer scorer)
            : base(models[0], scorer.Keys.Concat(detector.Layers.Where(l => l.Method is not null).Select(l => l.Key)).ToArray(), detector.Threshold)
        {
            _scorer = scorer;
            _detector = detector;
            _stepWeights = detector.PerturbationScope == PerturbationScope.Shared ? detector.StepWeights : null;
            if (NeighborView(detector) is { } view)
            {
                try
                {
                    _use = models[0].Use();
                    _neighbors = FeatureSpaceScorer.For(view, models[0]);
                }
                catch
                {
                    _use?.Dispose();
                    scorer.Dispose();
                    throw;
                }
            }
        }

        /// <summary>The Knn layers of an FSSD detector as a Knn detector of their own (their banks, k), or null when it has none.</summary>
        public static FssdDetector? NeighborView(FssdDetector detector)
        {
            var layers = detector.Layers.Where(l => l.Method == DetectorMethod.Knn).ToList();
            if (layers.Count == 0) return null;
            if (detector.Models.Count != 1) throw new FssdModelException($"The detector '{detector.Name}' has Knn layers and {detector.Models.Count} models; Knn layers score with one model.");
            return detector with { Method = DetectorMethod.Knn, Layers = layers, Combination = LayerCombination.WeightedSum, Gaussians = Array.Empty<FssdClassGaussians>() };
        }

        public override FssdPrecision Precision => _scorer.Precision;

        public override BatchScores Score(IReadOnlyList<byte[]> samples, long batch)
        {
            var fssd = _scorer.ScoreBytes(samples, _detector.Epsilon, _detector.Perturbation, _stepWeights);
            if (_neighbors is null) return fssd;
            double[,] knn;
            using (var scope = NewDisposeScope())
                (knn, _) = _neighbors.Score(ImageTensors.FromSamples(samples, Spec, Model.Device));
            int fssdColumns = fssd.TapScores.GetLength(1), columns = fssdColumns + knn.GetLength(1);
            var merged = new double[samples.Count, columns];
            for (int i = 0; i < samples.Count; i++)
            {
                for (int j = 0; j < fssdColumns; j++) merged[i, j] = fssd.TapScores[i, j];
                for (int j = fssdColumns; j < columns; j++) merged[i, j] = knn[i, j - fssdColumns];
            }
            return new BatchScores(merged, fssd.Predicted, fssd.Confidence);
        }

        public override double Combine(IReadOnlyList<double> columns) => DetectorMath.Combine(_detector, columns);

        public override void Dispose()
        {
            _scorer.Dispose();
            _neighbors?.Dispose();
            _use?.Dispose();
        }
    }

    private sealed class Taps : DetectorScorer
    {
        private readonly EnsembleScorer _scorer;
        private readonly double _epsilon;
        private readonly PerturbationMode _mode;
        private readonly int _scored;

        public Taps(EnsembleScorer scorer, LoadedModel model, double epsilon, PerturbationMode mode, int scored) : base(model, scorer.Keys, null)
        {
            _scorer = scorer;
            _epsilon = epsilon;
            _mode = mode;
            _scored = scored;
        }

        public override FssdPrecision Precision => _scorer.Precision;

        public override BatchScores Score(IReadOnlyList<byte[]> samples, long batch) => _scorer.ScoreBytes(samples, _epsilon, _mode);

        /// <summary>The default tap's FSSD (or the first tap named).</summary>
        public override double Combine(IReadOnlyList<double> columns) => columns[_scored];

        public override void Dispose() => _scorer.Dispose();
    }

    private sealed class FeatureSpace : DetectorScorer
    {
        private readonly FssdDetector _detector;
        private readonly FeatureSpaceScorer _scorer;
        private readonly IDisposable _use;

        public FeatureSpace(FssdDetector detector, LoadedModel model) : base(model, detector.Layers.Select(l => l.Key).ToArray(), detector.Threshold)
        {
            _detector = detector;
            _use = model.Use();
            _scorer = FeatureSpaceScorer.For(detector, model);
        }

        public override BatchScores Score(IReadOnlyList<byte[]> samples, long batch)
        {
            using var scope = NewDisposeScope();
            var input = ImageTensors.FromSamples(samples, Spec, Model.Device);
            var (columns, logits) = _scorer.Score(input);
            if (logits is null) return new BatchScores(columns, Array.Empty<int>(), Array.Empty<double>());
            var (values, indices) = logits.softmax(1).max(1);
            return new BatchScores(columns, indices.cpu().data<long>().Select(i => (int)i).ToArray(), values.to_type(ScalarType.Float64).cpu().data<double>().ToArray());
        }

        public override double Combine(IReadOnlyList<double> columns) => DetectorMath.Combine(_detector, columns);

        public override void Dispose()
        {
            _scorer.Dispose();
            _use.Dispose();
        }
    }

    private sealed class Baseline : DetectorScorer
    {
        private readonly FssdDetector _detector;
        private readonly BaselineScorer _scorer;
        private readonly IDisposable[] _uses;

        public Baseline(FssdDetector detector, IReadOnlyList<LoadedModel> models)
            : base(models[0], detector.Layers.Count > 0 ? detector.Layers.Select(l => l.Key).ToArray() : new[] { detector.Method.ToString() }, detector.Threshold)
        {
            _detector = detector;
            _scorer = BaselineScorer.For(detector, models);
            _uses = models.Select(m => m.Use()).ToArray();
        }

        // Monte Carlo passes switch the shared network's dropout on and draw from libtorch's generator in batch order.
        public override int MaxWorkers => 1;

        public override BatchScores Score(IReadOnlyList<byte[]> samples, long batch)
        {
            using var scope = NewDisposeScope();
            var input = ImageTensors.FromSamples(samples, Spec, Model.Device);
            var columns = _scorer.Score(input, new[] { _detector.Epsilon }, _detector.Temperature, Math.Max(_detector.Passes, 2),
                _detector.Statistic ?? MonteCarloStatistic.Mean, batch * SeedStride)[0];
            var (predicted, confidence) = _scorer.Predict(input);
            return new BatchScores(columns, predicted, confidence);
        }

        public override double Combine(IReadOnlyList<double> columns) => DetectorMath.Combine(_detector, columns);

        public override void Dispose()
        {
            _scorer.Dispose();
            foreach (var use in _uses) use.Dispose();
        }
    }
}

/// <summary>Which taps a model scores when nobody says.</summary>
public static class TapSelection
{
    /// <summary>
    /// The taps named, in the model's order (whatever order they were named in), or, without names: every tap
    /// at ε = 0 (one forward pass gives them all); with a step, the default tap alone (each tap costs its own step).
    /// </summary>
    public static int[] ForScoring(LoadedModel model, IReadOnlyList<string>? layers, double epsilon)
    {
        if (layers is not null) return layers.Select(model.TapIndex).Distinct().Order().ToArray();
        return epsilon == 0 ? Enumerable.Range(0, model.Taps.Count).ToArray() : new[] { FssdScorer.DefaultTap(model) };
    }
}
