using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fssd.Engine.Persistence;

/// <summary>
/// A detector file (YAML), for every method: the models' manifests inline (weights paths relative to the
/// detector file, and their SHA-256), what calibration fitted — FSSD's F* per tap as base64 float32,
/// Mahalanobis's class Gaussians and the Gaussian detector's one Gaussian per tap as base64 float64, the Knn
/// detector's fitted unit features as base64 float32 with its k, the taps and their weights, ε, temperature, MC
/// Dropout's statistic — the threshold and its target TPR, and provenance. Sealed with the SHA-256 of its
/// content and written atomically. With embedded weights the weights
/// file's bytes travel inside it (base64), so the detector is one file.
/// </summary>
public sealed class DetectorDocument
{
    /// <summary>How detector files end.</summary>
    public const string Extension = ".fssd.yaml";

    public int FormatVersion { get; set; } = FssdDetector.CurrentFormatVersion;
    public string Name { get; set; } = "";

    /// <summary>FSSD (also when absent, as in format 1) or a baseline's name.</summary>
    public string? Method { get; set; }

    public List<DetectorModel> Models { get; set; } = new();
    public List<DetectorLayer> Layers { get; set; } = new();
    public double Intercept { get; set; }

    /// <summary>"Minimum" when the layers' standardized scores are combined by their minimum (format 3); absent: a weighted sum.</summary>
    public string? Combination { get; set; }
    public double Epsilon { get; set; }
    public string Perturbation { get; set; } = nameof(PerturbationMode.Sign);

    /// <summary>"Shared" for one step along <see cref="StepWeights"/>; absent: each layer its own step.</summary>
    public string? Scope { get; set; }

    public List<double>? StepWeights { get; set; }
    public double? Temperature { get; set; }
    public string? Statistic { get; set; }
    public int? Passes { get; set; }
    public List<DetectorGaussians>? Gaussians { get; set; }

    /// <summary>Knn's k.</summary>
    public int? Neighbors { get; set; }

    /// <summary>Knn's fitted features per layer.</summary>
    public List<DetectorBank>? Banks { get; set; }
    public double Threshold { get; set; }
    public double TargetTpr { get; set; }

    /// <summary>ThresholdOnly, OodValidation or OutlierFree (format 1 wrote "OutlierFree (kind+kind)").</summary>
    public string Calibration { get; set; } = "";

    public List<string>? PseudoOutlierKinds { get; set; }
    public DetectorValidation Validation { get; set; } = new();
    public string? TrainingSource { get; set; }
    public double? RegularizationC { get; set; }
    public List<DetectorTrial>? Trials { get; set; }

    /// <summary>Format 1's name for <see cref="Trials"/>.</summary>
    public List<DetectorTrial>? EpsilonCurve { get; set; }

    public List<DetectorPseudoOutlierTrial>? PseudoOutliers { get; set; }
    public double? CalibrationSeconds { get; set; }
    public DateTime Created { get; set; }

    /// <summary>No tap of a model this module scores has more features than this (a 224 × 224 × 64 map is 3.2 million).</summary>
    private const int MaxCenterSize = 1 << 28;

    /// <summary>The most rows a Knn detector keeps per layer.</summary>
    private const int MaxBankRows = Scoring.FeatureSpace.NeighborBank.MaxRows;

    /// <summary>Larger than any layer whose class Gaussians a detector would carry (a 4096-wide feature's precision is 128 MB).</summary>
    private const int MaxGaussianDimension = Scoring.FeatureSpace.FeatureSpaceCalibrator.MaxGaussianDimension;

    /// <summary>
    /// The document for a detector whose models have <paramref name="manifests"/>, to be written at
    /// <paramref name="path"/>; with <paramref name="embedWeights"/> the weights go inside (and the
    /// manifest keeps only their file name).
    /// </summary>
    public static DetectorDocument From(FssdDetector detector, IReadOnlyList<ModelManifest> manifests, string path, bool embedWeights = false)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        bool shared = detector.PerturbationScope == PerturbationScope.Shared;
        bool format3 = detector.Combination != LayerCombination.WeightedSum || detector.Layers.Any(l => l.Reduction is not null || l.Method is not null);
        return new DetectorDocument
        {
            FormatVersion = format3 ? 3 : 2,
            Name = detector.Name,
            Method = detector.Method.ToString(),
            Models = detector.Models.Select((m, i) =>
            {
                var manifest = manifests[i].Clone();
                manifest.Weights = embedWeights ? System.IO.Path.GetFileName(m.WeightsPath)
                    : System.IO.Path.GetRelativePath(directory, m.WeightsPath).Replace('\\', '/');
                if (manifest.Preprocessing is not null)
                    manifest.Preprocessing = System.IO.Path.GetRelativePath(directory, manifest.Preprocessing).Replace('\\', '/');
                var center = i < detector.Centers.Count ? detector.Centers[i] : null;
                return new DetectorModel
                {
                    Manifest = manifest,
                    Sha256 = m.Sha256,
                    WeightsBase64 = embedWeights ? EmbeddedWeights.Encode(m.WeightsPath, m.Sha256) : null,
                    Center = center is null ? null : new DetectorCenter
                    {
                        Source = center.Source.ToString(), Samples = center.Samples, Seed = center.Seed,
                        Taps = center.Taps.Select(t => new DetectorCenterTap { Name = t.Name, Size = t.Size, Float32 = PackedValues.Float32(t.Vector) }).ToList(),
                    },
                };
            }).ToList(),
            Layers = detector.Layers.Select(l => new DetectorLayer
            {
                Model = l.ModelIndex, Name = l.Name, Method = l.Method?.ToString(), Reduction = l.Reduction?.ToString(), Weight = l.Weight, Mean = l.Mean, Std = l.Std,
            }).ToList(),
            Intercept = detector.Intercept,
            Combination = detector.Combination == LayerCombination.WeightedSum ? null : detector.Combination.ToString(),
            Epsilon = detector.Epsilon,
            Perturbation = detector.Perturbation.ToString(),
            Scope = shared ? detector.PerturbationScope.ToString() : null,
            StepWeights = shared ? detector.StepWeights.ToList() : null,
            Temperature = detector.Method == DetectorMethod.ODIN || detector.Temperature != 1 ? detector.Temperature : null,
            Statistic = detector.Statistic?.ToString(),
            Passes = detector.Passes > 0 ? detector.Passes : null,
            Gaussians = detector.Gaussians.Count == 0 ? null : detector.Gaussians.Select(g => new DetectorGaussians
            {
                Model = g.ModelIndex, Tap = g.Tap, Classes = g.Classes, Dimension = g.Dimension,
                Means = PackedValues.Float64(g.Means), Precision = PackedValues.Float64(g.Precision),
            }).ToList(),
            Neighbors = detector.Banks.Count > 0 ? detector.Neighbors : null,
            Banks = detector.Banks.Count == 0 ? null : detector.Banks.Select(b => new DetectorBank
            {
                Model = b.ModelIndex, Tap = b.Tap, Reduction = b.Reduction?.ToString(), Count = b.Count, Dimension = b.Dimension, Float32 = PackedValues.Float32(b.Features),
            }).ToList(),
            Threshold = detector.Threshold,
            TargetTpr = detector.TargetTpr,
            Calibration = detector.Calibration.ToString(),
            PseudoOutlierKinds = detector.PseudoOutlierKinds.Count == 0 ? null : detector.PseudoOutlierKinds.Select(k => k.ToString()).ToList(),
            Validation = new DetectorValidation
            {
                Source = detector.ValidationSource, Count = detector.ValidationCount, Tpr = detector.ValidationTpr,
                Metrics = detector.ValidationMetrics is { } m ? DetectorMetrics.From(m) : null,
            },
            TrainingSource = detector.TrainingSource.Length == 0 ? null : detector.TrainingSource,
            RegularizationC = detector.RegularizationC,
            Trials = detector.Trials.Count == 0 ? null : detector.Trials.Select(DetectorTrial.From).ToList(),
            PseudoOutliers = detector.PseudoOutliers.Count == 0 ? null : detector.PseudoOutliers.Select(t => new DetectorPseudoOutlierTrial
            {
                Kind = t.Kind, Used = t.Used, Count = t.Count, Auroc = t.AUROC, Rejected = t.Rejected,
            }).ToList(),
            CalibrationSeconds = detector.CalibrationSeconds > 0 ? detector.CalibrationSeconds : null,
            Created = detector.CreatedUtc,
        };
    }

    /// <summary>
    /// Writes <paramref name="detector"/>, whose models are <paramref name="models"/>, to <paramref name="path"/>
    /// (atomically, sealed); with <paramref name="embedWeights"/> the weights travel inside the file.
    /// </summary>
    public static void Save(FssdDetector detector, IReadOnlyList<Models.LoadedModel> models, string path, bool embedWeights = false)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        From(detector, models.Select(m => m.Manifest).ToList(), path, embedWeights).Write(path);
    }

    /// <summary>Writes the detector atomically, sealed with the SHA-256 of its content.</summary>
    public void Write(string path) =>
        AtomicFile.WriteAllText(path, ContentSeal.Seal("# Fssd detector: Import-FssdDetector -Path <this file>\n", YamlFile.Serialize(this)));

    /// <summary>
    /// Reads and checks a detector file: its kind, its content hash (a file changed after it was written is
    /// refused unless <see cref="ReadOptions.AcceptModified"/>), its YAML (plain data only), and every value
    /// in it (finite numbers in range, positive scales, centers and Gaussians of the declared size).
    /// </summary>
    public static DetectorDocument Read(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        string kind = FileKind.Describe(path);
        if (kind is not ("an Fssd detector file" or "a YAML file" or "a text file"))
            throw new FssdModelException($"'{path}' is {kind}, not an Fssd detector file (.fssd.yaml)" +
                (kind == "an Fssd model manifest" ? "; import it with Import-FssdModel." : "."));
        string text = YamlFile.ReadText(path, "detector file");
        var (body, state, expected, actual) = ContentSeal.Open(text);
        if (state == SealState.Modified)
        {
            string what = $"The detector '{path}' was changed after it was written (its content hashes to {actual![..12]}…, the file records {expected![..Math.Min(12, expected!.Length)]}…)";
            if (!options.AcceptModified)
                throw new FssdModelException(what + ": its threshold, weights or centers may no longer be what calibration found. " +
                    "Make it again, or import it with -SkipIntegrityCheck to use it as it is.");
            options.Warn?.Invoke(what + "; it is used as it is (-SkipIntegrityCheck).");
        }
        var doc = YamlFile.Deserialize<DetectorDocument>(body, path, "detector file");
        if (doc.FormatVersion is < 1 or > FssdDetector.CurrentFormatVersion)
            throw new FssdModelException($"The detector '{path}' has formatVersion {doc.FormatVersion}; this module reads versions 1 to {FssdDetector.CurrentFormatVersion}.");
        if (state == SealState.Absent)
        {
            if (doc.FormatVersion >= 2 && !options.AcceptModified)
                throw new FssdModelException($"The detector '{path}' has lost its content hash (every detector of format {doc.FormatVersion} is written with one), so edits cannot be ruled out. " +
                    "Make it again, or import it with -SkipIntegrityCheck to use it as it is.");
            options.Warn?.Invoke($"The detector '{path}' carries no content hash (format {doc.FormatVersion}), so edits to it cannot be noticed; export it again to add one.");
        }
        doc.Validate(path);
        return doc;
    }

    private DetectorMethod MethodValue => Method is null ? DetectorMethod.FSSD : Parse<DetectorMethod>(Method);

    /// <summary>Every value a scorer will use, checked: an edited or corrupted file fails here, not as NaN scores.</summary>
    private void Validate(string path)
    {
        void Fail(string what) => throw new FssdModelException($"The detector '{path}' is not valid: {what}.");
        static bool Finite(double v) => double.IsFinite(v);
        if (Method is not null && !TryParse<DetectorMethod>(Method, out _)) Fail($"method is '{Method}' ({string.Join(", ", Enum.GetNames<DetectorMethod>())})");
        var method = MethodValue;
        if (Models.Count == 0) Fail("it names no model");
        if (Models.Count > 64) Fail($"it names {Models.Count} models");
        if (method is not (DetectorMethod.FSSD or DetectorMethod.DeepEnsemble) && Models.Count != 1) Fail($"{method} scores with one model; it names {Models.Count}");
        if (method == DetectorMethod.DeepEnsemble && Models.Count < 2) Fail("a deep ensemble needs two models or more");
        for (int i = 0; i < Models.Count; i++)
        {
            var m = Models[i];
            if (m.Sha256.Length != 64 || !m.Sha256.All(Uri.IsHexDigit)) Fail($"model {i} has no SHA-256 of its weights");
            m.Manifest.Validate(path);
            if (method != DetectorMethod.FSSD) continue;
            if (m.Center is null) Fail($"model {i} has no center (FSSD needs F* for every model)");
            var center = m.Center!;
            if (!TryParse<CenterSource>(center.Source, out _)) Fail($"model {i}'s center has source '{center.Source}'");
            if (center.Samples < 0) Fail($"model {i}'s center was made from {center.Samples} samples");
            if (center.Taps.Count == 0) Fail($"model {i}'s center has no taps");
            if (center.Taps.Select(t => t.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != center.Taps.Count) Fail($"model {i}'s center names a tap twice");
            foreach (var t in center.Taps)
                if (t.Size is < 1 or > MaxCenterSize) Fail($"the center of tap '{t.Name}' declares {t.Size} values");
        }
        if (method is DetectorMethod.FSSD or DetectorMethod.Mahalanobis or DetectorMethod.Knn or DetectorMethod.Gaussian && Layers.Count == 0) Fail("it has no layers");
        var seen = new HashSet<(int, string, string)>();
        if (Combination is not null && !TryParse<LayerCombination>(Combination, out _)) Fail($"combination is '{Combination}' ({string.Join(" or ", Enum.GetNames<LayerCombination>())})");
        if ((Combination is not null || Layers.Any(l => l.Reduction is not null || l.Method is not null)) && FormatVersion < 3)
            Fail($"it combines layers by '{Combination ?? "WeightedSum"}', reduces a layer its own way or scores a layer by another method, which format {FormatVersion} cannot say (format 3 can)");
        if (Combination is not null && method is not (DetectorMethod.Knn or DetectorMethod.Gaussian)) Fail($"{method} combines its layers by a weighted sum, not '{Combination}'");
        // An FSSD detector may carry Knn layers after its FSSD layers, scored with its one model against its banks.
        var neighborLayers = Layers.Where(l => l.Method is not null).ToList();
        bool afterNeighbor = false;
        foreach (var layer in Layers)
        {
            if (layer.Method is not null && (!TryParse<DetectorMethod>(layer.Method, out var layerMethod) || layerMethod != DetectorMethod.Knn || method != DetectorMethod.FSSD))
                Fail($"layer '{layer.Name}' is scored by '{layer.Method}'; only an FSSD detector's layers may name a method, and only Knn");
            if (layer.Method is null && afterNeighbor) Fail($"FSSD layer '{layer.Name}' comes after a Knn layer; Knn layers come last");
            afterNeighbor |= layer.Method is not null;
            bool featureSpace = method is DetectorMethod.Knn or DetectorMethod.Gaussian || layer.Method is not null;
            if (layer.Reduction is not null && !TryParse<TapReduction>(layer.Reduction, out _)) Fail($"layer '{layer.Name}' has reduction '{layer.Reduction}' ({string.Join(", ", Enum.GetNames<TapReduction>())})");
            if (layer.Reduction is not null && !featureSpace) Fail($"layer '{layer.Name}' has its own reduction, which only Knn and Gaussian layers read");
            if (layer.Model < 0 || layer.Model >= Models.Count) Fail($"a layer weighs a tap of model {layer.Model}, but it has {Models.Count} model(s)");
            if (method == DetectorMethod.FSSD && layer.Method is null && !Models[layer.Model].Center!.Taps.Any(t => t.Name == layer.Name))
                Fail($"it weighs tap '{layer.Name}' but the center of model {layer.Model} has no such tap");
            if (!seen.Add((layer.Model, $"{layer.Method}/{layer.Name}".ToLowerInvariant(), (layer.Reduction ?? "").ToLowerInvariant())))
                Fail($"it weighs tap '{layer.Name}' of model {layer.Model}{(layer.Reduction is null ? "" : $" ({layer.Reduction})")} twice");
            if (!Finite(layer.Weight) || !Finite(layer.Mean)) Fail($"layer '{layer.Name}' has weight {layer.Weight} and mean {layer.Mean}; both must be finite");
            if (!Finite(layer.Std) || layer.Std <= 0) Fail($"layer '{layer.Name}' has std {layer.Std}; it must be a positive number");
        }
        if (method == DetectorMethod.FSSD && neighborLayers.Count > 0 && Models.Count != 1) Fail($"its Knn layers score with one model; it names {Models.Count}");
        if (method == DetectorMethod.FSSD && neighborLayers.Count == 0 && Banks is not null) Fail("it carries Knn features but no Knn layer");
        var banked = method == DetectorMethod.Knn ? Layers : neighborLayers;
        if (banked.Count > 0)
        {
            if (Neighbors is null or < 1) Fail("Knn needs its k (neighbors, 1 or more)");
            if (Banks is null || Banks.Count != banked.Count) Fail($"Knn needs fitted features for each of its {banked.Count} Knn layers");
            for (int j = 0; j < banked.Count; j++)
            {
                var b = Banks![j];
                if (b.Tap != banked[j].Name || b.Model != banked[j].Model) Fail($"the Knn features of Knn layer {j} are for tap '{b.Tap}', not '{banked[j].Name}'");
                if (!string.Equals(b.Reduction, banked[j].Reduction, StringComparison.OrdinalIgnoreCase))
                    Fail($"the Knn features of Knn layer {j} were reduced by '{b.Reduction ?? "the tap"}', but the layer reads '{banked[j].Reduction ?? "the tap"}'");
                if (b.Count < Neighbors || b.Count > MaxBankRows || b.Dimension < 1 || (long)b.Count * b.Dimension > MaxCenterSize)
                    Fail($"the Knn features of tap '{b.Tap}' declare {b.Count} rows of {b.Dimension} (k is {Neighbors}; at most {MaxBankRows} rows)");
            }
        }
        if (method is DetectorMethod.Mahalanobis or DetectorMethod.Gaussian)
        {
            if (Gaussians is null || Gaussians.Count != Layers.Count) Fail($"{method} needs Gaussians for each of its {Layers.Count} layers");
            if (method == DetectorMethod.Gaussian && Gaussians!.Any(g => g.Classes != 1)) Fail("a Gaussian detector has one Gaussian per layer, not classes");
            for (int j = 0; j < Layers.Count; j++)
            {
                var g = Gaussians![j];
                if (g.Tap != Layers[j].Name || g.Model != Layers[j].Model) Fail($"the class Gaussians of layer {j} are for tap '{g.Tap}', not '{Layers[j].Name}'");
                if (g.Classes is < 1 or > 100_000 || g.Dimension is < 1 or > MaxGaussianDimension)
                    Fail($"the class Gaussians of tap '{g.Tap}' declare {g.Classes} classes in {g.Dimension} dimensions");
            }
        }
        if (!Finite(Intercept)) Fail($"intercept is {Intercept}");
        if (!Finite(Epsilon) || Math.Abs(Epsilon) > 10) Fail($"epsilon is {Epsilon} (from -10 to 10)");
        if (!TryParse<PerturbationMode>(Perturbation, out _)) Fail($"perturbation is '{Perturbation}' (Sign or Standardized)");
        if (Scope is not null && !TryParse<PerturbationScope>(Scope, out _)) Fail($"scope is '{Scope}' (PerTap or Shared)");
        bool shared = Scope is not null && TryParse<PerturbationScope>(Scope, out var scope) && scope == PerturbationScope.Shared;
        int fssdLayers = Layers.Count - neighborLayers.Count;
        if (shared && StepWeights?.Count != fssdLayers) Fail($"it has a shared step but {StepWeights?.Count ?? 0} step weight(s) for {fssdLayers} FSSD layer(s)");
        if (StepWeights is not null && StepWeights.Any(w => !Finite(w))) Fail("a step weight is not a finite number");
        if (Temperature is { } temperature && (!Finite(temperature) || temperature <= 0)) Fail($"temperature is {temperature}; it must be a positive number");
        if (Statistic is not null && !TryParse<MonteCarloStatistic>(Statistic, out _)) Fail($"statistic is '{Statistic}' (Mean or Variance)");
        if (method == DetectorMethod.MCDropout && (Statistic is null || Passes is null or < 2 or > 10_000)) Fail("MC Dropout needs its statistic and 2 passes or more");
        if (!Finite(Threshold)) Fail($"threshold is {Threshold}");
        if (!Finite(TargetTpr) || TargetTpr <= 0 || TargetTpr > 1) Fail($"targetTpr is {TargetTpr} (above 0, at most 1)");
        if (!Finite(Validation.Tpr) || Validation.Tpr < 0 || Validation.Tpr > 1) Fail($"validation.tpr is {Validation.Tpr} (from 0 to 1)");
        if (Validation.Count < 0) Fail($"validation.count is {Validation.Count}");
        if (RegularizationC is { } c && (!Finite(c) || c <= 0)) Fail($"regularizationC is {c}");
        if (CalibrationKindOf(Calibration) is null) Fail($"calibration is '{Calibration}' (ThresholdOnly, OodValidation or OutlierFree)");
        if (PseudoOutlierKinds is not null && PseudoOutlierKinds.Any(k => !TryParse<PseudoOutlierKind>(k, out _))) Fail("a pseudo-outlier kind is not one the module makes");
    }

    /// <summary>The calibration kind, reading format 1's "OutlierFree (PatchShuffle2+…)" too; null when it is none.</summary>
    private static CalibrationKind? CalibrationKindOf(string text)
    {
        string head = text.Split(' ', 2)[0];
        return TryParse<CalibrationKind>(head, out var kind) ? kind : null;
    }

    /// <summary>Format 1 kept the pseudo-outlier kinds inside the calibration string.</summary>
    private IReadOnlyList<PseudoOutlierKind> KindsOf()
    {
        if (PseudoOutlierKinds is not null) return PseudoOutlierKinds.Select(Parse<PseudoOutlierKind>).ToList();
        int open = Calibration.IndexOf('(');
        if (open < 0) return Array.Empty<PseudoOutlierKind>();
        return Calibration[(open + 1)..].TrimEnd(')').Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(k => TryParse<PseudoOutlierKind>(k, out _)).Select(Parse<PseudoOutlierKind>).ToList();
    }

    private static bool TryParse<T>(string? text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(text, out _);

    private static T Parse<T>(string text) where T : struct, Enum => Enum.Parse<T>(text, ignoreCase: true);

    private static TapReduction? ReductionOf(string? text) => text is null ? null : Parse<TapReduction>(text);

    /// <summary>The detector object for this document and its loaded models.</summary>
    public FssdDetector ToDetector(IReadOnlyList<FssdModel> models, string? path)
    {
        string file = path is null ? "The detector" : $"The detector '{path}'";
        var method = MethodValue;
        return new FssdDetector
        {
            Name = Name,
            Method = method,
            Models = models,
            Centers = method != DetectorMethod.FSSD ? Array.Empty<FssCenter>() : Models.Select((m, i) => new FssCenter
            {
                Model = models[i].Name, ModelSha256 = m.Sha256, Source = Parse<CenterSource>(m.Center!.Source),
                Samples = m.Center.Samples, Seed = m.Center.Seed, CreatedUtc = Created,
                Taps = m.Center.Taps.Select(t => new FssCenterTap
                {
                    Name = t.Name, Size = t.Size, Vector = PackedValues.ReadFloat32(t.Float32, t.Size, file, $"the center of tap '{t.Name}'"),
                }).ToList(),
            }).ToList(),
            Layers = Layers.Select(l => new FssdDetectorLayer
            {
                ModelIndex = l.Model, Name = l.Name, Reduction = ReductionOf(l.Reduction), Method = l.Method is null ? null : Parse<DetectorMethod>(l.Method),
                Key = LayerKey(l.Model, (l.Method is null ? "" : FssdDetectorLayer.NeighborPrefix) + Scoring.FeatureSpace.FeatureSpaceCalibrator.KeyOf(l.Name, ReductionOf(l.Reduction)), Models.Count),
                Weight = l.Weight, Mean = l.Mean, Std = l.Std,
            }).ToList(),
            Intercept = Intercept,
            Combination = Combination is null ? LayerCombination.WeightedSum : Parse<LayerCombination>(Combination),
            Epsilon = Epsilon,
            Perturbation = Parse<PerturbationMode>(Perturbation),
            PerturbationScope = Scope is null ? PerturbationScope.PerTap : Parse<PerturbationScope>(Scope),
            StepWeights = Scope is not null && Parse<PerturbationScope>(Scope) == PerturbationScope.Shared ? StepWeights!.ToArray() : Array.Empty<double>(),
            Temperature = Temperature ?? 1,
            Statistic = Statistic is null ? null : Parse<MonteCarloStatistic>(Statistic),
            Passes = Passes ?? 0,
            Gaussians = (Gaussians ?? new List<DetectorGaussians>()).Select(g => new FssdClassGaussians
            {
                ModelIndex = g.Model, Tap = g.Tap, Classes = g.Classes, Dimension = g.Dimension,
                Means = PackedValues.ReadFloat64(g.Means, (long)g.Classes * g.Dimension, file, $"the class means of tap '{g.Tap}'"),
                Precision = PackedValues.ReadFloat64(g.Precision, (long)g.Dimension * g.Dimension, file, $"the precision of tap '{g.Tap}'"),
            }).ToList(),
            Neighbors = Neighbors ?? 0,
            Banks = (Banks ?? new List<DetectorBank>()).Select(b => new FssdFeatureBank
            {
                ModelIndex = b.Model, Tap = b.Tap, Reduction = ReductionOf(b.Reduction), Count = b.Count, Dimension = b.Dimension,
                Features = PackedValues.ReadFloat32(b.Float32, b.Count * b.Dimension, file, $"the Knn features of tap '{b.Tap}'"),
            }).ToList(),
            Threshold = Threshold,
            TargetTpr = TargetTpr,
            Calibration = CalibrationKindOf(Calibration) ?? CalibrationKind.ThresholdOnly,
            PseudoOutlierKinds = KindsOf(),
            ValidationSource = Validation.Source,
            ValidationCount = Validation.Count,
            ValidationTpr = Validation.Tpr,
            ValidationMetrics = Validation.Metrics?.ToMetrics(),
            TrainingSource = TrainingSource ?? "",
            RegularizationC = RegularizationC,
            Trials = (Trials ?? EpsilonCurve ?? new List<DetectorTrial>()).Select(t => t.ToTrial()).ToList(),
            PseudoOutliers = (PseudoOutliers ?? new List<DetectorPseudoOutlierTrial>()).Select(t => new FssdPseudoOutlierTrial
            {
                Kind = t.Kind, Used = t.Used, Count = t.Count, AUROC = t.Auroc, Rejected = t.Rejected,
            }).ToList(),
            CalibrationSeconds = CalibrationSeconds ?? 0,
            CreatedUtc = Created,
            Path = path,
        };
    }

    /// <summary>How scores name a layer: its tap name, prefixed by "model&lt;i&gt;/" when there are several models.</summary>
    public static string LayerKey(int model, string tap, int models) => models > 1 ? $"model{model}/{tap}" : tap;
}

public sealed class DetectorModel
{
    public ModelManifest Manifest { get; set; } = new();
    public string Sha256 { get; set; } = "";

    /// <summary>FSSD's F* for this model; absent for the other methods.</summary>
    public DetectorCenter? Center { get; set; }

    /// <summary>The weights file's bytes, base64, when the detector carries them (then the manifest's weights is only their file name).</summary>
    public string? WeightsBase64 { get; set; }
}

public sealed class DetectorCenter
{
    public string Source { get; set; } = "";
    public int Samples { get; set; }
    public long? Seed { get; set; }
    public List<DetectorCenterTap> Taps { get; set; } = new();
}

public sealed class DetectorCenterTap
{
    public string Name { get; set; } = "";
    public int Size { get; set; }

    /// <summary>The mean feature as little-endian float32, base64.</summary>
    public string Float32 { get; set; } = "";
}

/// <summary>A layer's class Gaussians: means [classes × dimension] and precision [dimension × dimension] as little-endian float64, base64.</summary>
public sealed class DetectorGaussians
{
    public int Model { get; set; }
    public string Tap { get; set; } = "";
    public int Classes { get; set; }
    public int Dimension { get; set; }
    public string Means { get; set; } = "";
    public string Precision { get; set; } = "";
}

/// <summary>A layer's Knn features: [count × dimension] unit rows as little-endian float32, base64.</summary>
public sealed class DetectorBank
{
    public int Model { get; set; }
    public string Tap { get; set; } = "";

    /// <summary>As its layer's <see cref="DetectorLayer.Reduction"/>.</summary>
    public string? Reduction { get; set; }

    public int Count { get; set; }
    public int Dimension { get; set; }
    public string Float32 { get; set; } = "";
}

public sealed class DetectorLayer
{
    /// <summary>The index of the model in the detector's models.</summary>
    public int Model { get; set; }
    public string Name { get; set; } = "";

    /// <summary>"Knn" for a Knn layer of an FSSD detector (format 3); absent: the detector's method.</summary>
    public string? Method { get; set; }

    /// <summary>"SpatialStd" when the layer reads the tap's spatial standard deviations (format 3); absent: the tap's own reduction.</summary>
    public string? Reduction { get; set; }

    public double Weight { get; set; } = 1;
    public double Mean { get; set; }
    public double Std { get; set; } = 1;
}

public sealed class DetectorValidation
{
    public string Source { get; set; } = "";
    public int Count { get; set; }
    public double Tpr { get; set; }
    public DetectorMetrics? Metrics { get; set; }
}

public sealed class DetectorMetrics
{
    public string Method { get; set; } = "";
    public double Auroc { get; set; }
    public double AuprcIn { get; set; }
    public double AuprcOut { get; set; }
    public double Fpr80 { get; set; }
    public double Fpr95 { get; set; }
    public double DetectionError { get; set; }
    public int InCount { get; set; }
    public int OutCount { get; set; }

    public static DetectorMetrics From(FssdMetrics m) => new()
    {
        Method = m.Method, Auroc = m.AUROC, AuprcIn = m.AUPRCIn, AuprcOut = m.AUPRCOut, Fpr80 = m.FPR80, Fpr95 = m.FPR95,
        DetectionError = m.DetectionError, InCount = m.InCount, OutCount = m.OutCount,
    };

    public FssdMetrics ToMetrics() => new()
    {
        Method = Method, AUROC = Auroc, AUPRCIn = AuprcIn, AUPRCOut = AuprcOut, FPR80 = Fpr80, FPR95 = Fpr95,
        DetectionError = DetectionError, InCount = InCount, OutCount = OutCount,
    };
}

public sealed class DetectorPseudoOutlierTrial
{
    public string Kind { get; set; } = "";
    public bool Used { get; set; }
    public int Count { get; set; }
    public double Auroc { get; set; }
    public double Rejected { get; set; }
}

public sealed class DetectorTrial
{
    public double Epsilon { get; set; }
    public string Perturbation { get; set; } = "";
    public double? Temperature { get; set; }
    public string? Statistic { get; set; }
    public double TnrAt95Tpr { get; set; }
    public double Auroc { get; set; }
    public double? C { get; set; }
    public bool? Chosen { get; set; }

    public static DetectorTrial From(FssdCalibrationTrial t) => new()
    {
        Epsilon = t.Epsilon, Perturbation = t.Perturbation.ToString(), Temperature = t.Temperature != 1 ? t.Temperature : null,
        Statistic = t.Statistic?.ToString(), TnrAt95Tpr = t.TnrAt95Tpr, Auroc = t.AUROC, C = t.C, Chosen = t.Chosen ? true : null,
    };

    public FssdCalibrationTrial ToTrial() => new()
    {
        Epsilon = Epsilon,
        Perturbation = Enum.TryParse<PerturbationMode>(Perturbation, true, out var p) ? p : PerturbationMode.Sign,
        Temperature = Temperature ?? 1,
        Statistic = Enum.TryParse<MonteCarloStatistic>(Statistic, true, out var s) ? s : null,
        TnrAt95Tpr = TnrAt95Tpr, AUROC = Auroc, C = C, Chosen = Chosen ?? false,
    };
}

/// <summary>How a YAML file of the module is read: whether a changed file is accepted (with a warning), and where warnings go.</summary>
public sealed record ReadOptions(bool AcceptModified = false, Action<string>? Warn = null)
{
    public static ReadOptions Default { get; } = new();
}

/// <summary>Reads a detector file and loads its models into the session's cache, checking the weights' hashes and the centers' sizes.</summary>
public static class DetectorLoader
{
    public static (FssdDetector Detector, IReadOnlyList<Models.LoadedModel> Models) Load(string path, Runtime.ModelCache cache, TorchSharp.torch.Device device,
        ReadOptions? options = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FssdFileNotFoundException($"The detector file '{full}' does not exist.", full);
        var (doc, stamp) = ReadCached(full, options);
        string directory = System.IO.Path.GetDirectoryName(full)!;
        var loaded = new List<Models.LoadedModel>();
        foreach (var entry in doc.Models)
        {
            // Embedded weights are unpacked (hash-checked) into the cache and read from there; the manifest names the file.
            string baseDirectory = entry.WeightsBase64 is null ? directory
                : EmbeddedWeights.Unpack(entry.WeightsBase64, entry.Sha256, entry.Manifest.Weights, full);
            var manifest = entry.Manifest;
            if (entry.WeightsBase64 is not null)
            {
                manifest = entry.Manifest.Clone();
                manifest.Weights = FileNames.Safe(System.IO.Path.GetFileName(entry.Manifest.Weights), "weights");
            }
            string weights = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, manifest.Weights));
            if (!File.Exists(weights))
                throw new FssdModelException($"The detector '{full}' needs the model weights '{weights}', which do not exist.");
            string sha = cache.HashFile(weights);
            if (!string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new FssdModelException(
                    $"The detector '{full}' was made for weights with SHA-256 {entry.Sha256}, but '{weights}' has {sha}; what it fitted does not fit these weights.");
            loaded.Add(cache.GetOrLoad(manifest, baseDirectory, full, device, out _));
        }
        foreach (var layer in doc.Layers) loaded[layer.Model].TapIndex(layer.Name);
        // Each center must have exactly as many values as its tap gives.
        for (int i = 0; i < doc.Models.Count; i++)
        {
            foreach (var tap in doc.Models[i].Center?.Taps ?? new List<DetectorCenterTap>())
            {
                var layer = loaded[i].Info.Layers.FirstOrDefault(l => l.Name.Equals(tap.Name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new FssdModelException($"The detector '{full}' has a center for tap '{tap.Name}', which the model '{loaded[i].Info.Name}' does not have.");
                if (layer.FeatureSize != tap.Size)
                    throw new FssdModelException($"The detector '{full}' has {tap.Size} center values for tap '{tap.Name}', but the model's tap gives {layer.FeatureSize}.");
            }
        }
        // A feature-space detector's fitted features and Gaussians have as many dimensions as their tap gives
        // (Mahalanobis's class Gaussians are of spatial means, whatever the tap's own reduction).
        // A bank of a tap's texture has one value per channel of the tap's map: the map's shape comes from one pass on a blank input.
        foreach (var bank in (doc.Banks ?? new List<DetectorBank>()).Where(b => b.Reduction is not null))
        {
            var model = loaded[bank.Model];
            int channels = MapChannels(model, bank.Tap)
                ?? throw new FssdModelException($"The detector '{full}' has Knn features of the texture of tap '{bank.Tap}', which is not a feature map in the model '{model.Info.Name}'.");
            if (channels != bank.Dimension)
                throw new FssdModelException($"The detector '{full}' has Knn features of {bank.Dimension} dimensions for the texture of tap '{bank.Tap}', but its map has {channels} channels.");
        }
        var fitted = (doc.Banks ?? new List<DetectorBank>()).Where(b => b.Reduction is null).Select(b => (b.Model, b.Tap, b.Dimension, What: "Knn features"))
            .Concat(doc.Method is { } m && m.Equals(nameof(DetectorMethod.Gaussian), StringComparison.OrdinalIgnoreCase)
                ? (doc.Gaussians ?? new List<DetectorGaussians>()).Select(g => (g.Model, g.Tap, g.Dimension, What: "Gaussians"))
                : Enumerable.Empty<(int, string, int, string)>());
        foreach (var (model, tap, dimension, what) in fitted)
        {
            var layer = loaded[model].Info.Layers.FirstOrDefault(l => l.Name.Equals(tap, StringComparison.OrdinalIgnoreCase))
                ?? throw new FssdModelException($"The detector '{full}' has {what} for tap '{tap}', which the model '{loaded[model].Info.Name}' does not have.");
            if (layer.FeatureSize != dimension)
                throw new FssdModelException($"The detector '{full}' has {what} of {dimension} dimensions for tap '{tap}', but the model's tap gives {layer.FeatureSize}.");
        }
        var infos = loaded.Select(m => m.Info).ToList();
        if (stamp is not null && LastDetector.TryGetValue(stamp, out var made) && made.Models.Select(m => m.Id).SequenceEqual(infos.Select(m => m.Id)))
            return (made, loaded);
        var detector = doc.ToDetector(infos, full);
        if (stamp is not null)
            lock (Kept)
                if (LastDocument.ContainsKey(stamp)) LastDetector[stamp] = detector;
        return (detector, loaded);
    }

    /// <summary>Parsed detector files by path, size and time written: a file read again (the default detector, at every Measure-Fssd) is not parsed again.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DetectorDocument> LastDocument = new();

    /// <summary>The detectors made from those documents (their Knn features and centers decoded once).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, FssdDetector> LastDetector = new();

    /// <summary>
    /// Reads a detector file, or takes the document read before from the same path when its size and time written
    /// are unchanged. Only a file that read cleanly (sealed and unchanged, no warning) is kept; with
    /// options that accept a modified file it is always read again. The stamp is null when nothing is kept.
    /// </summary>
    private static (DetectorDocument Doc, string? Stamp) ReadCached(string full, ReadOptions? options)
    {
        if (options is { AcceptModified: true }) return (DetectorDocument.Read(full, options), null);
        var info = new FileInfo(full);
        string stamp = $"{full}|{info.Length}|{info.LastWriteTimeUtc.Ticks}";
        if (LastDocument.TryGetValue(stamp, out var known)) return (known, stamp);
        bool warned = false;
        var doc = DetectorDocument.Read(full, new ReadOptions(false, w => { warned = true; options?.Warn?.Invoke(w); }));
        if (warned) return (doc, null);
        lock (Kept)
        {
            // One entry per path (an older version of the file goes), and at most KeptFiles paths: the oldest goes first.
            foreach (var old in Kept.Where(k => k.StartsWith(full + "|", StringComparison.Ordinal)).ToList()) Forget(old);
            while (Kept.Count >= KeptFiles) Forget(Kept[0]);
            Kept.Add(stamp);
            LastDocument[stamp] = doc;
        }
        return (doc, stamp);
    }

    /// <summary>How many detector files a process keeps parsed: a script that makes and reads many detectors keeps only the latest.</summary>
    private const int KeptFiles = 8;

    /// <summary>The stamps kept, oldest first.</summary>
    private static readonly List<string> Kept = new();

    private static void Forget(string stamp)
    {
        Kept.Remove(stamp);
        LastDocument.TryRemove(stamp, out _);
        LastDetector.TryRemove(stamp, out _);
    }

    /// <summary>The channels of a tap's feature map [B, C, H, W] with more than one position, or null when the tap gives no such map.</summary>
    private static int? MapChannels(Models.LoadedModel model, string tapName)
    {
        int tap = model.Taps.ToList().FindIndex(t => t.Name.Equals(tapName, StringComparison.OrdinalIgnoreCase));
        if (tap < 0) return null;
        var spec = model.Info.InputSpec;
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var blank = TorchSharp.torch.zeros(new long[] { 1, spec.Channels, spec.Height, spec.Width }, device: model.Device);
        var shape = model.ForwardTapRaw(blank, tap).shape;
        return shape.Length == 4 && shape[2] * shape[3] > 1 ? (int)shape[1] : null;
    }
}
