using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Models;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.FeatureSpace;

namespace Fssd.Engine.Calibration;

/// <summary>What an FSSD detector is made from, besides its validation inputs. Defaults are the module's.</summary>
public sealed class FssdDetectorRequest
{
    /// <summary>One model, or several (the paper's network ensembles: one regression over all their taps).</summary>
    public IReadOnlyList<LoadedModel> Models { get; init; } = Array.Empty<LoadedModel>();

    /// <summary>Centers to use, matched to the models by their weights' hash (one center for one model is used as it is); the others are estimated from noise.</summary>
    public IReadOnlyList<FssCenter>? Centers { get; init; }

    /// <summary>Taps by name (of every model); null: every tap (ensembles) or the default tap (threshold only).</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>A fixed ε instead of a search.</summary>
    public double? Epsilon { get; init; }

    /// <summary>The ε values to search; null: the paper's grid with OoD data, the small outlier-free grid without.</summary>
    public IReadOnlyList<double>? EpsilonGrid { get; init; }

    public PerturbationMode Perturbation { get; init; } = PerturbationMode.Sign;
    public PerturbationScope Scope { get; init; } = PerturbationScope.PerTap;
    public double TargetTpr { get; init; } = DetectorMath.DefaultTargetTpr;
    public long Seed { get; init; }

    /// <summary>Calibrate the taps' weights against pseudo-outliers made from the in-distribution inputs.</summary>
    public bool OutlierFree { get; init; }

    /// <summary>The kinds of pseudo-outlier (outlier-free only); null: the default mixture.</summary>
    public IReadOnlyList<PseudoOutlierKind>? PseudoOutliers { get; init; }

    public string? Name { get; init; }

    /// <summary>What the validation inputs were, in words; null: counted from the inputs.</summary>
    public string? ValidationSource { get; init; }

    /// <summary>FSSD, Knn or Gaussian; null: <see cref="DetectorChoice"/> picks one.</summary>
    public DetectorMethod? Method { get; init; }

    /// <summary>Knn's k; null: <see cref="NeighborBank.DefaultNeighbors"/>.</summary>
    public int? Neighbors { get; init; }

    /// <summary>Knn: the most fitted features a layer keeps.</summary>
    public int MaxBankRows { get; init; } = NeighborBank.MaxRows;

    /// <summary>Knn layers are to join the FSSD detector (<see cref="DetectorFactory.WithNeighbors"/>, from reference inputs).</summary>
    public bool KnnLayers { get; init; }

    /// <summary>The options only FSSD reads, when any is set (a center, a step, OoD or pseudo-outlier calibration); null when none is.</summary>
    public string? FssdOption(bool outOfDistribution) =>
        outOfDistribution ? "OoD validation inputs" : OutlierFree ? "outlier-free calibration" : KnnLayers ? "reference inputs for Knn layers" : Centers is not null ? "a center"
        : Epsilon is not null ? "an input step (epsilon)" : EpsilonGrid is not null ? "an epsilon grid" : PseudoOutliers is not null ? "pseudo-outlier kinds"
        : Scope != PerturbationScope.PerTap ? "a shared step" : Perturbation != PerturbationMode.Sign ? "a perturbation mode" : null;
}

/// <summary>
/// Which method New-FssdDetector uses when it is not told: the rule measured on the photo benchmarks
/// (docs/photos.md) and on FashionMNIST (docs/benchmarks.md). FSSD where an option only FSSD reads is set, or several
/// models; otherwise a model without a classifier head (a pretrained backbone such as ImageNet ResNet18)
/// gets Knn on its last feature and on the texture of the stage before it (<see cref="FeatureSpaceCalibrator.DefaultLayers"/>)
/// — on photos it separates both drawings and other photos far better than FSSD, whose center assumes a
/// classifier trained on the in-distribution classes; so does a backbone with only a new head trained on
/// its last feature (New-FssdClassifier -InitialModel), whose features are the backbone's — and a classifier keeps
/// FSSD on its penultimate features with a threshold, as the paper's method does.
/// </summary>
public static class DetectorChoice
{
    public static (DetectorMethod Method, string Reason) Choose(FssdDetectorRequest request, bool outOfDistribution)
    {
        if (request.Method is { } given) return (given, $"{given} was asked for");
        var model = request.Models.Count > 0 ? request.Models[0] : null;
        if (request.FssdOption(outOfDistribution) is { } option) return (DetectorMethod.FSSD, $"{option} was given, which only FSSD uses");
        if (request.Models.Count > 1) return (DetectorMethod.FSSD, "several models were given, which only FSSD combines");
        if (model is not null && !model.Info.HasClassifier)
            return (DetectorMethod.Knn, $"'{model.Info.Name}' has no classifier head: on a feature extractor, Knn (k = {request.Neighbors ?? NeighborBank.DefaultNeighbors}, cosine) " +
                (request.Layers is null ? "on the last feature and on the texture of the stage before it, an input as unusual as the more unusual of the two, " : "") +
                "separated drawings and other photos best of the methods that need no OoD data (docs/photos.md)");
        if (model is not null && model.Manifest.Head is not null)
            return (DetectorMethod.Knn, $"'{model.Info.Name}' is a frozen feature extractor with a head trained on its last feature: its features are the extractor's, " +
                $"and on them Knn (k = {request.Neighbors ?? NeighborBank.DefaultNeighbors}, cosine) separated drawings and other photos better than FSSD or the head's " +
                "softmax confidence (docs/photos.md)");
        return (DetectorMethod.FSSD, $"'{model?.Info.Name}' is a classifier: FSSD on its penultimate features, threshold from the in-distribution inputs");
    }
}

/// <summary>
/// Makes FSSD detectors, whichever way they are calibrated: from in-distribution inputs alone (one tap
/// and a threshold), with OoD validation inputs (FSSD-Ensem, the paper's protocol), or outlier-free
/// (FSSD-Ensem against pseudo-outliers). The one entry point New-FssdDetector and C# callers use.
/// </summary>
public static class DetectorFactory
{
    public static FssdDetector Create(FssdDetectorRequest request, IReadOnlyList<byte[]> inDistribution, IReadOnlyList<byte[]>? outOfDistribution,
        Action<string>? progress, Action<string>? warn, CancellationToken cancellation)
    {
        var models = request.Models;
        if (models.Count == 0) throw new ArgumentException("A detector needs a model.", nameof(request));
        ModelCompatibility.RequireSameInput(models);
        if (inDistribution.Count == 0) throw new FssdDataException("There are no in-distribution inputs to calibrate on.");
        var (method, _) = DetectorChoice.Choose(request, outOfDistribution is not null);
        if (method is DetectorMethod.Knn or DetectorMethod.Gaussian)
        {
            if (request.FssdOption(outOfDistribution is not null) is { } option)
                throw new ArgumentException($"{method} is fitted on in-distribution inputs alone; {option} applies to FSSD only.");
            if (models.Count > 1) throw new ArgumentException($"{method} scores with one model; {models.Count} were given.");
            int k = request.Neighbors ?? NeighborBank.DefaultNeighbors;
            return Warned(FeatureSpaceCalibrator.Create(method, models[0], inDistribution, request.Layers, k, request.TargetTpr, request.Seed, request.Name,
                request.ValidationSource, progress, cancellation, request.MaxBankRows), warn);
        }
        if (method != DetectorMethod.FSSD)
            throw new ArgumentException($"New-FssdDetector makes FSSD, Knn and Gaussian detectors; {method} is made by New-FssdBaseline.");
        if (request.Neighbors is not null && !request.KnnLayers) throw new ArgumentException("-Neighbors is Knn's k; FSSD has none (without -Reference).");
        if (request.OutlierFree && outOfDistribution is not null)
            throw new ArgumentException("Outlier-free calibration uses no OoD data; give OoD validation inputs, or ask for outlier-free calibration, not both.");
        if (request.Epsilon is not null && request.EpsilonGrid is not null)
            throw new ArgumentException("Give a fixed ε or a grid of ε to search, not both.");
        if (request.OutlierFree && models.FirstOrDefault(PhotoSized) is { } photo)
            warn?.Invoke($"Outlier-free calibration's pseudo-outliers were designed on 28x28 gray images; '{photo.Info.Name}' reads " +
                $"{photo.Info.InputSpec.Width}x{photo.Info.InputSpec.Height} colour images, and on photos with the pretrained ResNet18 this calibration " +
                "ranked drawings and other photos below the good photos (AUROC 0.21 to 0.49, docs/photos.md); no -PseudoOutlier kind separated " +
                "other photos (0.43 to 0.59). Without -OutlierFree, New-FssdDetector " +
                "picks Knn for such a model, which separated them at 0.89 to 1.00.");
        bool ensemble = outOfDistribution is not null || request.OutlierFree;
        if (models.Count > 1 && !ensemble)
            throw new ArgumentException("Several models need weights, and weights need OoD validation inputs or outlier-free calibration.");
        var centers = CentersFor(models, request.Centers);
        if (!ensemble)
        {
            if (request.Scope == PerturbationScope.Shared)
                warn?.Invoke("A shared step has no effect on a threshold-only detector: it scores one tap, whose step is its own. " +
                    "Give OoD validation inputs or ask for outlier-free calibration for an ensemble that shares one step among its taps.");
            return Warned(ThresholdOnly(request, models[0], centers[0], inDistribution, cancellation), warn);
        }
        return Warned(Ensemble(request, models, centers, inDistribution, outOfDistribution, progress, cancellation), warn);
    }

    /// <summary>
    /// An FSSD detector with Knn layers added after its FSSD layers: <see cref="FeatureSpaceCalibrator.DefaultLayers"/>
    /// of its model (the last feature and the texture of the stage before it), fitted on <paramref name="reference"/>
    /// — in-distribution inputs it was not calibrated on, such as training images. The new score is the mean of
    /// 1 + (Knn layers) standardised scores: the FSSD detector's own score and each Knn layer's, each standardised
    /// on the reference inputs' held-out scores (FSSD: the detector never saw them; Knn: each input left out of
    /// its own bank). The FSSD layers keep their weights up to one common scale, so the FSSD part is exactly the
    /// detector's score; the threshold keeps the detector's target share of the reference inputs' held-out scores.
    /// docs/default-detector.md measures why: on kinds of OoD image the outlier-free FSSD-Ensem was not designed on,
    /// the mean was the best of FSSD, Knn and both on every set.
    /// </summary>
    public static FssdDetector WithNeighbors(FssdDetector fssd, LoadedModel model, IReadOnlyList<byte[]> reference, int neighbors, long seed,
        Action<string>? progress, CancellationToken cancellation, int maxRows = NeighborBank.MaxRows)
    {
        if (fssd.Method != DetectorMethod.FSSD) throw new ArgumentException($"Knn layers join an FSSD detector; '{fssd.Name}' is {fssd.Method}.", nameof(fssd));
        if (fssd.Models.Count != 1) throw new ArgumentException($"Knn layers score with one model; '{fssd.Name}' has {fssd.Models.Count}.", nameof(fssd));
        if (fssd.Layers.Count == 0 || fssd.Layers.Any(l => l.Method is not null))
            throw new ArgumentException($"'{fssd.Name}' has no FSSD layers to join, or has Knn layers already.", nameof(fssd));
        if (fssd.Model.Sha256 != model.Info.Sha256) throw new ArgumentException($"'{fssd.Name}' was made for other weights than '{model.Info.Name}'.", nameof(model));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (knn, heldOut) = FeatureSpaceCalibrator.CreateWithHeldOut(DetectorMethod.Knn, model, reference, null, neighbors, fssd.TargetTpr, seed, null, null,
            progress, cancellation, maxRows);
        progress?.Invoke($"FSSD: scoring {reference.Count} reference inputs.");
        double[] own;
        using (var scorer = DetectorScorer.For(fssd, new[] { model }))
            own = scorer.ScoreAll(reference, DetectorScorer.DefaultBatchSize, cancellation);
        int parts = 1 + knn.Layers.Count;
        var (ownMean, ownStd) = MeanStd(own);
        double scale = 1.0 / (parts * ownStd);
        var layers = fssd.Layers.Select(l => new FssdDetectorLayer
        {
            Name = l.Name, ModelIndex = l.ModelIndex, Key = l.Key, Weight = l.Weight * scale, Mean = l.Mean, Std = l.Std,
        }).Concat(knn.Layers.Select((l, j) =>
        {
            var (mean, std) = MeanStd(heldOut[j]);
            return new FssdDetectorLayer
            {
                Name = l.Name, ModelIndex = 0, Method = DetectorMethod.Knn, Reduction = l.Reduction, Key = FssdDetectorLayer.NeighborPrefix + l.Key,
                Weight = 1.0 / parts, Mean = mean, Std = std,
            };
        })).ToList();
        // The FSSD layers' weighted sum is now (own − ownMean) · scale: its weights are scaled and its intercept moved.
        double intercept = (fssd.Intercept - ownMean) * scale;
        var neighborLayers = layers.Skip(fssd.Layers.Count).ToList();
        var combined = Enumerable.Range(0, reference.Count)
            .Select(i => (own[i] - ownMean) * scale + DetectorMath.Combine(0, neighborLayers, heldOut.Select(h => h[i]).ToArray()))
            .ToArray();
        var (threshold, achieved) = DetectorMath.ThresholdAt(combined, fssd.TargetTpr);
        progress?.Invoke($"FSSD + Knn: {fssd.Layers.Count} FSSD layer(s) and {knn.Layers.Count} Knn layer(s) ({string.Join(", ", knn.Layers.Select(l => l.Key))}) on {reference.Count} reference inputs; " +
            $"threshold {threshold:G6} keeps {achieved:P1} of their held-out scores.");
        return fssd with
        {
            Layers = layers,
            Intercept = intercept,
            Banks = knn.Banks,
            Neighbors = neighbors,
            Threshold = threshold,
            TrainingSource = $"Knn layers: {knn.TrainingSource}",
            ValidationSource = $"{fssd.ValidationSource}; with the Knn layers, {reference.Count} reference input(s): the FSSD detector's scores and Knn's leave-one-out scores",
            ValidationCount = reference.Count,
            ValidationTpr = achieved,
            CalibrationSeconds = fssd.CalibrationSeconds + clock.Elapsed.TotalSeconds,
            CreatedUtc = DateTime.UtcNow,
        };
    }

    private static (double Mean, double Std) MeanStd(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        return (mean, std > 0 ? std : 1);
    }

    /// <summary>A model that reads colour images of at least 96 pixels a side: photos, not the 28 x 28 gray images the pseudo-outliers were designed on.</summary>
    private static bool PhotoSized(LoadedModel model) =>
        model.Info.InputSpec.Channels == 3 && Math.Min(model.Info.InputSpec.Height, model.Info.InputSpec.Width) >= 96;

    private static FssdDetector Warned(FssdDetector detector, Action<string>? warn)
    {
        foreach (var warning in CalibrationWarnings.For(detector)) warn?.Invoke(warning);
        return detector;
    }

    /// <summary>Each model's center: the one given for its weights, a lone one for a lone model, else 100 uniform-noise images (seed 0).</summary>
    public static IReadOnlyList<FssCenter> CentersFor(IReadOnlyList<LoadedModel> models, IReadOnlyList<FssCenter>? given) =>
        models.Select(m => given?.FirstOrDefault(c => c.ModelSha256 == m.Info.Sha256)
            ?? (given is { Count: 1 } && models.Count == 1 ? given[0] : null)
            ?? CenterEstimator.FromNoise(m, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise)).ToList();

    private static FssdDetector ThresholdOnly(FssdDetectorRequest request, LoadedModel model, FssCenter center, IReadOnlyList<byte[]> inputs,
        CancellationToken cancellation)
    {
        if (request.Layers is { Count: > 1 })
            throw new ArgumentException("Several layers need weights, and weights need OoD validation inputs or outlier-free calibration.");
        if (request.EpsilonGrid is not null)
            throw new ArgumentException("An ε grid is searched against OoD or pseudo-outlier inputs; a threshold-only detector takes one ε.");
        int tap = request.Layers is null ? FssdScorer.DefaultTap(model) : model.TapIndex(request.Layers[0]);
        double epsilon = request.Epsilon ?? 0;
        double[] scores;
        using (var scorer = new FssdScorer(model, center, new[] { tap }))
            scores = scorer.ScoreFirstTap(inputs, epsilon, request.Perturbation, DetectorScorer.DefaultBatchSize, cancellation);
        var (threshold, achieved) = DetectorMath.ThresholdAt(scores, request.TargetTpr);
        string name = model.Taps[tap].Name;
        return new FssdDetector
        {
            Name = request.Name ?? $"{model.Info.Name}-{name}",
            Models = new[] { model.Info },
            Centers = new[] { center },
            Layers = new[] { new FssdDetectorLayer { Name = name, Key = name, Weight = 1, Mean = 0, Std = 1 } },
            Epsilon = epsilon,
            Perturbation = request.Perturbation,
            Threshold = threshold,
            TargetTpr = request.TargetTpr,
            Calibration = CalibrationKind.ThresholdOnly,
            ValidationSource = request.ValidationSource ?? $"{inputs.Count} in-distribution input(s)",
            ValidationCount = inputs.Count,
            ValidationTpr = achieved,
            CreatedUtc = DateTime.UtcNow,
        };
    }

    private static FssdDetector Ensemble(FssdDetectorRequest request, IReadOnlyList<LoadedModel> models, IReadOnlyList<FssCenter> centers,
        IReadOnlyList<byte[]> inDistribution, IReadOnlyList<byte[]>? outOfDistribution, Action<string>? progress, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = models[0];
        // The layers name taps of every model; without them, every tap of every model.
        var parts = models.Select((m, i) => (m, centers[i], request.Layers is null ? Enumerable.Range(0, m.Taps.Count).ToArray() : FssdScorer.TapIndices(m, request.Layers))).ToList();
        var grid = request.EpsilonGrid ?? (request.Epsilon is { } fixedEpsilon ? new[] { fixedEpsilon }
            : request.OutlierFree ? OutlierFreeCalibrator.DefaultGrid : DetectorCalibrator.PaperGrid);
        using var scorer = new EnsembleScorer(parts);
        CalibrationResult result;
        IReadOnlyList<FssdPseudoOutlierTrial> evidence = Array.Empty<FssdPseudoOutlierTrial>();
        IReadOnlyList<PseudoOutlierKind> kinds = Array.Empty<PseudoOutlierKind>();
        string source;
        int outCount = 0;
        if (request.OutlierFree)
        {
            kinds = (request.PseudoOutliers ?? PseudoOutliers.DefaultKinds).Distinct().ToList();
            (result, evidence) = OutlierFreeCalibrator.Calibrate(scorer, model.Info.InputSpec, inDistribution, grid, request.Perturbation, request.TargetTpr,
                request.Seed, progress, cancellation, kinds, request.Scope);
            source = request.ValidationSource ?? $"{inDistribution.Count} in-distribution input(s); no OoD data";
        }
        else
        {
            result = DetectorCalibrator.Calibrate(scorer, inDistribution, outOfDistribution!, grid, request.Perturbation, request.TargetTpr, request.Seed,
                progress, cancellation, scope: request.Scope);
            outCount = outOfDistribution!.Count;
            source = request.ValidationSource ?? $"{inDistribution.Count} in-distribution and {outCount} OoD input(s)";
        }
        return new FssdDetector
        {
            Name = request.Name ?? $"{model.Info.Name}-ensemble",
            Models = models.Select(m => m.Info).ToList(),
            Centers = centers,
            Layers = parts.SelectMany((p, i) => p.Item3.Select(t => (Model: i, Tap: p.m.Taps[t].Name))).Select((l, j) => new FssdDetectorLayer
            {
                ModelIndex = l.Model, Name = l.Tap, Key = scorer.Keys[j],
                Weight = result.Regression.Weights[j], Mean = result.Scaling.Mean[j], Std = result.Scaling.Std[j],
            }).ToList(),
            Intercept = result.Regression.Intercept,
            Epsilon = result.Epsilon,
            Perturbation = result.Perturbation,
            PerturbationScope = result.Scope,
            StepWeights = result.StepWeights,
            Threshold = result.Threshold,
            TargetTpr = request.TargetTpr,
            Calibration = request.OutlierFree ? CalibrationKind.OutlierFree : CalibrationKind.OodValidation,
            PseudoOutlierKinds = kinds,
            ValidationSource = source,
            ValidationCount = inDistribution.Count + outCount,
            PseudoOutliers = evidence,
            ValidationTpr = result.AchievedTpr,
            Trials = result.Curve,
            RegularizationC = result.Regression.C,
            ValidationMetrics = result.Validation,
            CalibrationSeconds = clock.Elapsed.TotalSeconds,
            CreatedUtc = DateTime.UtcNow,
        };
    }
}
