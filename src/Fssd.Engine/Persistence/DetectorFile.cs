using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Fssd.Engine.Persistence;

/// <summary>
/// A detector file (YAML): the model's manifest inline (its weights path relative to the detector
/// file, and their SHA-256), F* per tap as base64 float32 (little-endian, bit-exact), the taps and
/// weights, ε, the threshold and its target TPR, and provenance. Written atomically.
/// </summary>
public sealed class DetectorDocument
{
    public int FormatVersion { get; set; } = FssdDetector.CurrentFormatVersion;
    public string Name { get; set; } = "";
    public List<DetectorModel> Models { get; set; } = new();
    public List<DetectorLayer> Layers { get; set; } = new();
    public double Intercept { get; set; }
    public double Epsilon { get; set; }
    public string Perturbation { get; set; } = nameof(PerturbationMode.Sign);

    /// <summary>"Shared" for one step along <see cref="StepWeights"/>; absent: each layer its own step.</summary>
    public string? Scope { get; set; }

    public List<double>? StepWeights { get; set; }
    public double Threshold { get; set; }
    public double TargetTpr { get; set; }
    public string Calibration { get; set; } = "";
    public DetectorValidation Validation { get; set; } = new();
    public double? RegularizationC { get; set; }
    public List<DetectorEpsilonTrial>? EpsilonCurve { get; set; }
    public List<DetectorPseudoOutlierTrial>? PseudoOutliers { get; set; }
    public DateTime Created { get; set; }

    /// <summary>The document for a detector whose models have <paramref name="manifests"/>, to be written at <paramref name="path"/>.</summary>
    public static DetectorDocument From(FssdDetector detector, IReadOnlyList<ModelManifest> manifests, string path)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        return new DetectorDocument
        {
            Name = detector.Name,
            Models = detector.Models.Select((m, i) =>
            {
                var manifest = manifests[i].Clone();
                manifest.Weights = System.IO.Path.GetRelativePath(directory, m.WeightsPath).Replace('\\', '/');
                var center = detector.Centers[i];
                return new DetectorModel
                {
                    Manifest = manifest,
                    Sha256 = m.Sha256,
                    Center = new DetectorCenter
                    {
                        Source = center.Source.ToString(), Samples = center.Samples, Seed = center.Seed,
                        Taps = center.Taps.Select(t => new DetectorCenterTap { Name = t.Name, Size = t.Size, Float32 = Encode(t.Vector) }).ToList(),
                    },
                };
            }).ToList(),
            Layers = detector.Layers.Select(l => new DetectorLayer { Model = l.ModelIndex, Name = l.Name, Weight = l.Weight, Mean = l.Mean, Std = l.Std }).ToList(),
            Intercept = detector.Intercept,
            Epsilon = detector.Epsilon,
            Perturbation = detector.Perturbation.ToString(),
            Scope = detector.PerturbationScope == PerturbationScope.Shared ? detector.PerturbationScope.ToString() : null,
            StepWeights = detector.PerturbationScope == PerturbationScope.Shared ? detector.StepWeights.ToList() : null,
            Threshold = detector.Threshold,
            TargetTpr = detector.TargetTpr,
            Calibration = detector.Calibration,
            Validation = new DetectorValidation
            {
                Source = detector.ValidationSource, Count = detector.ValidationCount, Tpr = detector.ValidationTpr,
                Metrics = detector.ValidationMetrics is { } m ? new DetectorMetrics
                {
                    Method = m.Method, Auroc = m.AUROC, AuprcIn = m.AUPRCIn, AuprcOut = m.AUPRCOut, Fpr80 = m.FPR80, Fpr95 = m.FPR95,
                    DetectionError = m.DetectionError, InCount = m.InCount, OutCount = m.OutCount,
                } : null,
            },
            RegularizationC = detector.RegularizationC,
            EpsilonCurve = detector.EpsilonCurve.Count == 0 ? null : detector.EpsilonCurve.Select(t => new DetectorEpsilonTrial
            {
                Epsilon = t.Epsilon, Perturbation = t.Perturbation.ToString(), TnrAt95Tpr = t.TnrAt95Tpr, Auroc = t.AUROC, C = t.C,
            }).ToList(),
            PseudoOutliers = detector.PseudoOutliers.Count == 0 ? null : detector.PseudoOutliers.Select(t => new DetectorPseudoOutlierTrial
            {
                Kind = t.Kind, Used = t.Used, Count = t.Count, Auroc = t.AUROC, Rejected = t.Rejected,
            }).ToList(),
            Created = detector.CreatedUtc,
        };
    }

    /// <summary>Writes the detector atomically, sealed with the SHA-256 of its content.</summary>
    public void Write(string path) =>
        AtomicFile.WriteAllText(path, ContentSeal.Seal("# Fssd detector: Import-FssdDetector -Path <this file>\n", YamlFile.Serialize(this)));

    /// <summary>
    /// Reads and checks a detector file: its kind, its content hash (a file changed after it was written is
    /// refused unless <see cref="ReadOptions.AcceptModified"/>), its YAML (plain data only), and every value
    /// in it (finite numbers in range, positive scales, centers of the declared size).
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
                    "Make it again with New-FssdDetector, or import it with -SkipIntegrityCheck to use it as it is.");
            options.Warn?.Invoke(what + "; it is used as it is (-SkipIntegrityCheck).");
        }
        var doc = YamlFile.Deserialize<DetectorDocument>(body, path, "detector file");
        if (doc.FormatVersion is < 1 or > FssdDetector.CurrentFormatVersion)
            throw new FssdModelException($"The detector '{path}' has formatVersion {doc.FormatVersion}; this module reads versions 1 to {FssdDetector.CurrentFormatVersion}.");
        if (state == SealState.Absent)
        {
            if (doc.FormatVersion >= 2 && !options.AcceptModified)
                throw new FssdModelException($"The detector '{path}' has lost its content hash (every detector of format {doc.FormatVersion} is written with one), so edits cannot be ruled out. " +
                    "Make it again with New-FssdDetector, or import it with -SkipIntegrityCheck to use it as it is.");
            options.Warn?.Invoke($"The detector '{path}' carries no content hash (format {doc.FormatVersion}), so edits to it cannot be noticed; export it again to add one.");
        }
        doc.Validate(path);
        return doc;
    }

    /// <summary>Every value a scorer will use, checked: an edited or corrupted file fails here, not as NaN scores.</summary>
    private void Validate(string path)
    {
        void Fail(string what) => throw new FssdModelException($"The detector '{path}' is not valid: {what}.");
        static bool Finite(double v) => double.IsFinite(v);
        if (Models.Count == 0) Fail("it names no model");
        if (Models.Count > 64) Fail($"it names {Models.Count} models");
        if (Layers.Count == 0) Fail("it has no layers");
        for (int i = 0; i < Models.Count; i++)
        {
            var m = Models[i];
            if (m.Sha256.Length != 64 || !m.Sha256.All(Uri.IsHexDigit)) Fail($"model {i} has no SHA-256 of its weights");
            m.Manifest.Validate(path);
            if (!TryParse<CenterSource>(m.Center.Source, out _)) Fail($"model {i}'s center has source '{m.Center.Source}'");
            if (m.Center.Samples < 0) Fail($"model {i}'s center was made from {m.Center.Samples} samples");
            if (m.Center.Taps.Count == 0) Fail($"model {i}'s center has no taps");
            if (m.Center.Taps.Select(t => t.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != m.Center.Taps.Count) Fail($"model {i}'s center names a tap twice");
            foreach (var t in m.Center.Taps)
                if (t.Size is < 1 or > MaxCenterSize) Fail($"the center of tap '{t.Name}' declares {t.Size} values");
        }
        var seen = new HashSet<(int, string)>();
        foreach (var layer in Layers)
        {
            if (layer.Model < 0 || layer.Model >= Models.Count) Fail($"a layer weighs a tap of model {layer.Model}, but it has {Models.Count} model(s)");
            if (!Models[layer.Model].Center.Taps.Any(t => t.Name == layer.Name)) Fail($"it weighs tap '{layer.Name}' but the center of model {layer.Model} has no such tap");
            if (!seen.Add((layer.Model, layer.Name.ToLowerInvariant()))) Fail($"it weighs tap '{layer.Name}' of model {layer.Model} twice");
            if (!Finite(layer.Weight) || !Finite(layer.Mean)) Fail($"layer '{layer.Name}' has weight {layer.Weight} and mean {layer.Mean}; both must be finite");
            if (!Finite(layer.Std) || layer.Std <= 0) Fail($"layer '{layer.Name}' has std {layer.Std}; it must be a positive number");
        }
        if (!Finite(Intercept)) Fail($"intercept is {Intercept}");
        if (!Finite(Epsilon) || Math.Abs(Epsilon) > 10) Fail($"epsilon is {Epsilon} (from -10 to 10)");
        if (!TryParse<PerturbationMode>(Perturbation, out _)) Fail($"perturbation is '{Perturbation}' (Sign or Standardized)");
        if (Scope is not null && !TryParse<PerturbationScope>(Scope, out _)) Fail($"scope is '{Scope}' (PerTap or Shared)");
        bool shared = Scope is not null && TryParse<PerturbationScope>(Scope, out var scope) && scope == PerturbationScope.Shared;
        if (shared && StepWeights?.Count != Layers.Count) Fail($"it has a shared step but {StepWeights?.Count ?? 0} step weight(s) for {Layers.Count} layer(s)");
        if (StepWeights is not null && StepWeights.Any(w => !Finite(w))) Fail("a step weight is not a finite number");
        if (!Finite(Threshold)) Fail($"threshold is {Threshold}");
        if (!Finite(TargetTpr) || TargetTpr <= 0 || TargetTpr > 1) Fail($"targetTpr is {TargetTpr} (above 0, at most 1)");
        if (!Finite(Validation.Tpr) || Validation.Tpr < 0 || Validation.Tpr > 1) Fail($"validation.tpr is {Validation.Tpr} (from 0 to 1)");
        if (Validation.Count < 0) Fail($"validation.count is {Validation.Count}");
        if (RegularizationC is { } c && (!Finite(c) || c <= 0)) Fail($"regularizationC is {c}");
    }

    /// <summary>No tap of a model this module scores has more features than this (a 224 × 224 × 64 map is 3.2 million).</summary>
    private const int MaxCenterSize = 1 << 28;

    private static bool TryParse<T>(string? text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(text, out _);

    /// <summary>The detector object for this document and its loaded models.</summary>
    public FssdDetector ToDetector(IReadOnlyList<FssdModel> models, string? path) => new()
    {
        Name = Name,
        Models = models,
        Centers = Models.Select((m, i) => new FssCenter
        {
            Model = models[i].Name, ModelSha256 = m.Sha256, Source = Enum.Parse<CenterSource>(m.Center.Source, true),
            Samples = m.Center.Samples, Seed = m.Center.Seed, CreatedUtc = Created,
            Taps = m.Center.Taps.Select(t => new FssCenterTap { Name = t.Name, Size = t.Size, Vector = Decode(t.Float32, t.Size, t.Name, path) }).ToList(),
        }).ToList(),
        Layers = Layers.Select(l => new FssdDetectorLayer
        {
            ModelIndex = l.Model, Name = l.Name, Key = LayerKey(l.Model, l.Name, Models.Count), Weight = l.Weight, Mean = l.Mean, Std = l.Std,
        }).ToList(),
        Intercept = Intercept,
        Epsilon = Epsilon,
        Perturbation = Enum.Parse<PerturbationMode>(Perturbation, true),
        PerturbationScope = Scope is null ? PerturbationScope.PerTap : Enum.Parse<PerturbationScope>(Scope, true),
        StepWeights = Scope is not null && Enum.Parse<PerturbationScope>(Scope, true) == PerturbationScope.Shared ? StepWeights!.ToArray() : Array.Empty<double>(),
        Threshold = Threshold,
        TargetTpr = TargetTpr,
        Calibration = Calibration,
        ValidationSource = Validation.Source,
        ValidationCount = Validation.Count,
        ValidationTpr = Validation.Tpr,
        ValidationMetrics = Validation.Metrics is { } m ? new FssdMetrics
        {
            Method = m.Method, AUROC = m.Auroc, AUPRCIn = m.AuprcIn, AUPRCOut = m.AuprcOut, FPR80 = m.Fpr80, FPR95 = m.Fpr95,
            DetectionError = m.DetectionError, InCount = m.InCount, OutCount = m.OutCount,
        } : null,
        RegularizationC = RegularizationC,
        EpsilonCurve = (EpsilonCurve ?? new List<DetectorEpsilonTrial>()).Select(t => new FssdEpsilonTrial
        {
            Epsilon = t.Epsilon, Perturbation = Enum.Parse<PerturbationMode>(t.Perturbation, true), TnrAt95Tpr = t.TnrAt95Tpr, AUROC = t.Auroc, C = t.C,
        }).ToList(),
        PseudoOutliers = (PseudoOutliers ?? new List<DetectorPseudoOutlierTrial>()).Select(t => new FssdPseudoOutlierTrial
        {
            Kind = t.Kind, Used = t.Used, Count = t.Count, AUROC = t.Auroc, Rejected = t.Rejected,
        }).ToList(),
        CreatedUtc = Created,
        Path = path,
    };

    /// <summary>How scores name a layer: its tap name, prefixed by "model&lt;i&gt;/" when there are several models.</summary>
    public static string LayerKey(int model, string tap, int models) => models > 1 ? $"model{model}/{tap}" : tap;

    private static string Encode(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>A center's values from base64: the byte count checked in 64 bits before anything is allocated, every value finite.</summary>
    private static float[] Decode(string base64, int size, string tap, string? path)
    {
        string file = path is null ? "The detector" : $"The detector '{path}'";
        // Four bytes per value, three base64 characters per four bytes: reject a wrong length before decoding.
        long expectedChars = ((long)size * 4 + 2) / 3 * 4;
        if (base64.Length != expectedChars)
            throw new FssdModelException($"{file} is not valid: the center of tap '{tap}' holds {base64.Length} base64 characters, not the {expectedChars} of {size} values.");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new FssdModelException($"{file} is not valid: the center of tap '{tap}' is not valid base64.", e);
        }
        if (bytes.LongLength != (long)size * 4) throw new FssdModelException($"{file} is not valid: the center of tap '{tap}' holds {bytes.Length / 4} values, not {size}.");
        var values = new float[size];
        for (int i = 0; i < size; i++)
        {
            values[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
            if (!float.IsFinite(values[i])) throw new FssdModelException($"{file} is not valid: the center of tap '{tap}' holds {values[i]} at {i}.");
        }
        return values;
    }
}

public sealed class DetectorModel
{
    public ModelManifest Manifest { get; set; } = new();
    public string Sha256 { get; set; } = "";
    public DetectorCenter Center { get; set; } = new();
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

public sealed class DetectorLayer
{
    /// <summary>The index of the model in the detector's models.</summary>
    public int Model { get; set; }
    public string Name { get; set; } = "";
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
}

public sealed class DetectorPseudoOutlierTrial
{
    public string Kind { get; set; } = "";
    public bool Used { get; set; }
    public int Count { get; set; }
    public double Auroc { get; set; }
    public double Rejected { get; set; }
}

public sealed class DetectorEpsilonTrial
{
    public double Epsilon { get; set; }
    public string Perturbation { get; set; } = "";
    public double TnrAt95Tpr { get; set; }
    public double Auroc { get; set; }
    public double C { get; set; }
}

/// <summary>How a YAML file of the module is read: whether a changed file is accepted (with a warning), and where warnings go.</summary>
public sealed record ReadOptions(bool AcceptModified = false, Action<string>? Warn = null)
{
    public static ReadOptions Default { get; } = new();
}

/// <summary>Reads a detector file and loads its model into the session's cache, checking the weights' hash.</summary>
public static class DetectorLoader
{
    public static (FssdDetector Detector, IReadOnlyList<Models.LoadedModel> Models) Load(string path, Runtime.ModelCache cache, TorchSharp.torch.Device device,
        ReadOptions? options = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FssdModelException($"The detector file '{full}' does not exist.");
        var doc = DetectorDocument.Read(full, options);
        string directory = System.IO.Path.GetDirectoryName(full)!;
        var loaded = new List<Models.LoadedModel>();
        foreach (var entry in doc.Models)
        {
            string weights = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, entry.Manifest.Weights));
            if (!File.Exists(weights))
                throw new FssdModelException($"The detector '{full}' needs the model weights '{weights}', which do not exist.");
            string sha = cache.HashFile(weights);
            if (!string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new FssdModelException(
                    $"The detector '{full}' was made for weights with SHA-256 {entry.Sha256}, but '{weights}' has {sha}; its center and threshold do not fit these weights.");
            loaded.Add(cache.GetOrLoad(entry.Manifest, directory, full, device, out _));
        }
        foreach (var layer in doc.Layers) loaded[layer.Model].TapIndex(layer.Name);
        // Each center must have exactly as many values as its tap gives.
        for (int i = 0; i < doc.Models.Count; i++)
        {
            foreach (var tap in doc.Models[i].Center.Taps)
            {
                var layer = loaded[i].Info.Layers.FirstOrDefault(l => l.Name.Equals(tap.Name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new FssdModelException($"The detector '{full}' has a center for tap '{tap.Name}', which the model '{loaded[i].Info.Name}' does not have.");
                if (layer.FeatureSize != tap.Size)
                    throw new FssdModelException($"The detector '{full}' has {tap.Size} center values for tap '{tap.Name}', but the model's tap gives {layer.FeatureSize}.");
            }
        }
        return (doc.ToDetector(loaded.Select(m => m.Info).ToList(), full), loaded);
    }
}
