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
/// weights, ε, the threshold and its target TPR, and provenance. Written atomically. With embedded
/// weights the weights file's bytes travel inside it (base64), so the detector is one file.
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

    private static readonly IDeserializer Reader = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
    private static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    /// <summary>
    /// The document for a detector whose models have <paramref name="manifests"/>, to be written at
    /// <paramref name="path"/>; with <paramref name="embedWeights"/> the weights go inside (and the
    /// manifest keeps only their file name).
    /// </summary>
    public static DetectorDocument From(FssdDetector detector, IReadOnlyList<ModelManifest> manifests, string path, bool embedWeights = false)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        return new DetectorDocument
        {
            Name = detector.Name,
            Models = detector.Models.Select((m, i) =>
            {
                var manifest = manifests[i].Clone();
                manifest.Weights = embedWeights ? System.IO.Path.GetFileName(m.WeightsPath)
                    : System.IO.Path.GetRelativePath(directory, m.WeightsPath).Replace('\\', '/');
                var center = detector.Centers[i];
                return new DetectorModel
                {
                    Manifest = manifest,
                    Sha256 = m.Sha256,
                    WeightsBase64 = embedWeights ? EmbeddedWeights.Encode(m.WeightsPath, m.Sha256) : null,
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

    public void Write(string path) =>
        AtomicFile.WriteAllText(path, "# Fssd detector: Import-FssdDetector -Path <this file>\n" + Writer.Serialize(this));

    public static DetectorDocument Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdModelException($"The detector '{path}' cannot be read: {e.Message}", e);
        }
        DetectorDocument? doc;
        try
        {
            doc = Reader.Deserialize<DetectorDocument>(text);
        }
        catch (YamlException e)
        {
            throw new FssdModelException($"The detector '{path}' is not valid (line {e.Start.Line}): {e.InnerException?.Message ?? e.Message}", e);
        }
        if (doc is null) throw new FssdModelException($"The detector '{path}' is empty.");
        if (doc.FormatVersion != FssdDetector.CurrentFormatVersion)
            throw new FssdModelException($"The detector '{path}' has formatVersion {doc.FormatVersion}; this module reads version {FssdDetector.CurrentFormatVersion}.");
        if (doc.Layers.Count == 0) throw new FssdModelException($"The detector '{path}' has no layers.");
        if (!Enum.TryParse<PerturbationMode>(doc.Perturbation, true, out _))
            throw new FssdModelException($"The detector '{path}' has perturbation '{doc.Perturbation}' (Sign or Standardized).");
        if (doc.Models.Count == 0) throw new FssdModelException($"The detector '{path}' names no model.");
        if (doc.Scope is not null && !Enum.TryParse<PerturbationScope>(doc.Scope, true, out _))
            throw new FssdModelException($"The detector '{path}' has scope '{doc.Scope}' (PerTap or Shared).");
        if (doc.Scope is not null && Enum.Parse<PerturbationScope>(doc.Scope, true) == PerturbationScope.Shared && doc.StepWeights?.Count != doc.Layers.Count)
            throw new FssdModelException($"The detector '{path}' has a shared step but {doc.StepWeights?.Count ?? 0} step weight(s) for {doc.Layers.Count} layer(s).");
        foreach (var layer in doc.Layers)
        {
            if (layer.Model < 0 || layer.Model >= doc.Models.Count)
                throw new FssdModelException($"The detector '{path}' weighs a tap of model {layer.Model}, but it has {doc.Models.Count} model(s).");
            if (!doc.Models[layer.Model].Center.Taps.Any(t => t.Name == layer.Name))
                throw new FssdModelException($"The detector '{path}' weighs tap '{layer.Name}' but the center of model {layer.Model} has no such tap.");
        }
        return doc;
    }

    /// <summary>The detector object for this document and its loaded models.</summary>
    public FssdDetector ToDetector(IReadOnlyList<FssdModel> models, string? path) => new()
    {
        Name = Name,
        Models = models,
        Centers = Models.Select((m, i) => new FssCenter
        {
            Model = models[i].Name, ModelSha256 = m.Sha256, Source = Enum.Parse<CenterSource>(m.Center.Source, true),
            Samples = m.Center.Samples, Seed = m.Center.Seed, CreatedUtc = Created,
            Taps = m.Center.Taps.Select(t => new FssCenterTap { Name = t.Name, Size = t.Size, Vector = Decode(t.Float32, t.Size, t.Name) }).ToList(),
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

    private static float[] Decode(string base64, int size, string tap)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new FssdModelException($"The center of tap '{tap}' is not valid base64.", e);
        }
        if (bytes.Length != size * 4) throw new FssdModelException($"The center of tap '{tap}' holds {bytes.Length / 4} values, not {size}.");
        var values = new float[size];
        for (int i = 0; i < size; i++) values[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
        return values;
    }
}

public sealed class DetectorModel
{
    public ModelManifest Manifest { get; set; } = new();
    public string Sha256 { get; set; } = "";
    public DetectorCenter Center { get; set; } = new();

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

/// <summary>Reads a detector file and loads its model into the session's cache, checking the weights' hash.</summary>
public static class DetectorLoader
{
    public static (FssdDetector Detector, IReadOnlyList<Models.LoadedModel> Models) Load(string path, Runtime.ModelCache cache, TorchSharp.torch.Device device)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FssdModelException($"The detector file '{full}' does not exist.");
        var doc = DetectorDocument.Read(full);
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
                    $"The detector '{full}' was made for weights with SHA-256 {entry.Sha256}, but '{weights}' has {sha}; its center and threshold do not fit these weights.");
            loaded.Add(cache.GetOrLoad(manifest, baseDirectory, full, device, out _));
        }
        foreach (var layer in doc.Layers) loaded[layer.Model].TapIndex(layer.Name);
        return (doc.ToDetector(loaded.Select(m => m.Info).ToList(), full), loaded);
    }
}
