using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fssd.Engine.Persistence;

/// <summary>
/// A model manifest (YAML): what network, which weights (relative to the manifest), the classes, the
/// input spec and the taps. Every field but architecture and weights has a per-architecture default.
/// </summary>
public sealed class ModelManifest
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; set; } = CurrentFormatVersion;
    public string? Name { get; set; }

    /// <summary>LeNet, ResNet18, ResNet34, TorchScript or Onnx.</summary>
    public string Architecture { get; set; } = "";

    /// <summary>ResNet only: cifar (3×3, no max-pool) or imagenet (7×7 and max-pool).</summary>
    public string? Stem { get; set; }

    /// <summary>The weights, TorchScript or ONNX file, relative to the manifest.</summary>
    public string Weights { get; set; } = "";

    /// <summary>When given, the SHA-256 (hex) the weights file must have: a pinned download.</summary>
    public string? WeightsSha256 { get; set; }

    /// <summary>Onnx only: an ONNX graph, relative to the manifest, that runs in front of the model (e.g. its own input normalization).</summary>
    public string? Preprocessing { get; set; }

    /// <summary>When given, the SHA-256 (hex) the preprocessing file must have.</summary>
    public string? PreprocessingSha256 { get; set; }

    public int? ClassCount { get; set; }
    public List<string>? ClassNames { get; set; }
    public InputManifest? Input { get; set; }
    public List<TapManifest>? Taps { get; set; }

    /// <summary>
    /// Onnx only: a linear classifier the module trained on one of the network's features (New-FssdClassifier
    /// -InitialModel); its logits are the model's logits and the tap 'logits'.
    /// </summary>
    public HeadManifest? Head { get; set; }

    /// <summary>How the model was trained, when the module trained it.</summary>
    public TrainingManifest? Training { get; set; }

    /// <summary>
    /// Reads a manifest: a wrong field or value is an error that names the file and the line. A manifest the
    /// module wrote carries its content hash and is refused when changed since (unless
    /// <see cref="ReadOptions.AcceptModified"/>); one written by hand has none and is read as it is.
    /// </summary>
    public static ModelManifest Load(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        string kind = FileKind.Describe(path);
        if (kind is not ("an Fssd model manifest" or "a YAML file" or "a text file"))
            throw new FssdModelException($"'{path}' is {kind}, not a model manifest" +
                (kind == "an Fssd detector file" ? "; import it with Import-FssdDetector." : "."));
        string text = YamlFile.ReadText(path, "manifest");
        var (body, state, expected, actual) = ContentSeal.Open(text);
        if (state == SealState.Modified)
        {
            string what = $"The manifest '{path}' was changed after the module wrote it (its content hashes to {actual![..12]}…, the file records {expected![..Math.Min(12, expected!.Length)]}…)";
            if (!options.AcceptModified)
                throw new FssdModelException(what + ": its classes or input spec may no longer match the weights. Export the model again, or import it with -SkipIntegrityCheck to use it as it is.");
            options.Warn?.Invoke(what + "; it is used as it is (-SkipIntegrityCheck).");
        }
        var manifest = YamlFile.Deserialize<ModelManifest>(body, path, "manifest");
        manifest.Validate(path);
        return manifest;
    }

    public string ToYaml() => YamlFile.Serialize(this);

    /// <summary>Writes the manifest atomically, sealed with the SHA-256 of its content, after <paramref name="header"/> (comment lines).</summary>
    public void Write(string path, string header) => AtomicFile.WriteAllText(path, ContentSeal.Seal(header, ToYaml()));

    /// <summary>A copy whose lists can be changed without touching this manifest.</summary>
    public ModelManifest Clone() => new()
    {
        FormatVersion = FormatVersion, Name = Name, Architecture = Architecture, Stem = Stem,
        Weights = Weights, WeightsSha256 = WeightsSha256, Preprocessing = Preprocessing, PreprocessingSha256 = PreprocessingSha256,
        ClassCount = ClassCount, ClassNames = ClassNames?.ToList(),
        Input = Input, Taps = Taps?.ToList(), Head = Head, Training = Training,
    };

    /// <summary>Checks what YAML typing cannot: known architecture, a weights file, sane input numbers.</summary>
    public void Validate(string path)
    {
        void Fail(string what) => throw new FssdModelException($"The manifest '{path}' is not valid: {what}.");
        if (FormatVersion != CurrentFormatVersion)
            Fail($"formatVersion is {FormatVersion}; this module reads version {CurrentFormatVersion}");
        if (string.IsNullOrWhiteSpace(Architecture)) Fail("architecture is missing (LeNet, ResNet18, ResNet34, TorchScript or Onnx)");
        if (!Models.Architectures.ArchitectureCatalog.IsKnown(Architecture))
            Fail($"architecture '{Architecture}' is not one of {string.Join(", ", Models.Architectures.ArchitectureCatalog.Names)}");
        if (string.IsNullOrWhiteSpace(Weights)) Fail("weights is missing (the weights file, relative to the manifest)");
        if (Preprocessing is not null && !Architecture.Equals(Models.Architectures.ArchitectureCatalog.Onnx, StringComparison.OrdinalIgnoreCase))
            Fail($"preprocessing is an ONNX graph run in front of an Onnx model; architecture is {Architecture}");
        foreach (var (field, hash) in new[] { ("weightsSha256", WeightsSha256), ("preprocessingSha256", PreprocessingSha256) })
            if (hash is not null && (hash.Length != 64 || !hash.All(Uri.IsHexDigit)))
                Fail($"{field} '{hash}' is not a SHA-256 (64 hex digits)");
        if (Stem is not null && !Stem.Equals("cifar", StringComparison.OrdinalIgnoreCase) && !Stem.Equals("imagenet", StringComparison.OrdinalIgnoreCase))
            Fail($"stem '{Stem}' is neither cifar nor imagenet");
        if (ClassCount is <= 0 or > 1_000_000) Fail($"classCount {ClassCount} must be from 1 to a million");
        if (ClassNames is not null && ClassNames.Count > 1_000_000) Fail($"it names {ClassNames.Count} classes");
        if (ClassCount is not null && ClassNames is not null && ClassNames.Count != ClassCount)
            Fail($"classCount is {ClassCount} but {ClassNames.Count} classNames are given");
        Input?.Validate(Fail);
        if (Head is not null)
        {
            if (!Architecture.Equals(Models.Architectures.ArchitectureCatalog.Onnx, StringComparison.OrdinalIgnoreCase))
                Fail($"head is a classifier trained on an Onnx model's feature; architecture is {Architecture}");
            Head.Validate(Fail);
            if (ClassCount is not null && ClassCount != Head.Classes) Fail($"classCount is {ClassCount} but the head has {Head.Classes} outputs");
        }
        if (Taps is not null)
        {
            foreach (var tap in Taps)
            {
                if (string.IsNullOrWhiteSpace(tap.Name)) Fail("a tap has no name");
                if (tap.Reduction is not null && !Enum.TryParse<TapReduction>(tap.Reduction, true, out _))
                    Fail($"tap '{tap.Name}' has reduction '{tap.Reduction}' (use flatten or spatialMean)");
            }
        }
    }
}

/// <summary>The input spec as written in a manifest.</summary>
public sealed class InputManifest
{
    public int? Channels { get; set; }
    public int? Height { get; set; }
    public int? Width { get; set; }
    public string? ColorMode { get; set; }
    public List<double>? ValueRange { get; set; }
    public List<double>? Mean { get; set; }
    public List<double>? Std { get; set; }

    internal void Validate(Action<string> fail)
    {
        if (Channels is not null and not (1 or 3)) fail($"input.channels is {Channels}; use 1 (gray) or 3 (RGB)");
        if (Height is <= 0 or > 16384 || Width is <= 0 or > 16384) fail("input.height and input.width must be from 1 to 16384");
        if (ColorMode is not null && !Enum.TryParse<Fssd.ColorMode>(ColorMode, true, out _)) fail($"input.colorMode '{ColorMode}' is neither gray nor rgb");
        if (ValueRange is not null && (ValueRange.Count != 2 || !ValueRange.TrueForAll(double.IsFinite) || ValueRange[0] >= ValueRange[1]))
            fail("input.valueRange must be [low, high], finite, with low < high");
        if (Mean is not null && !Mean.TrueForAll(double.IsFinite)) fail("input.mean values must be finite");
        if (Std is not null && Std.Exists(s => !double.IsFinite(s) || s <= 0)) fail("input.std values must be positive finite numbers");
        if (Mean is not null && Std is not null && Mean.Count != Std.Count) fail($"input.mean has {Mean.Count} values but input.std has {Std.Count}");
    }
}

/// <summary>
/// A linear classifier on a feature of an Onnx network, written into its manifest: logits =
/// weight · f + bias, where f is the feature <see cref="Input"/> (a feature map's channel means).
/// </summary>
public sealed class HeadManifest
{
    /// <summary>The node output the head reads.</summary>
    public string Input { get; set; } = "";

    public int Classes { get; set; }
    public int Features { get; set; }

    /// <summary>[classes, features], row-major, as base64 of little-endian float32.</summary>
    public string WeightFloat32 { get; set; } = "";

    /// <summary>[classes], as base64 of little-endian float32.</summary>
    public string BiasFloat32 { get; set; } = "";

    internal void Validate(Action<string> fail)
    {
        if (string.IsNullOrWhiteSpace(Input)) fail("head.input is missing (the node output the head reads)");
        if (Classes is < 2 or > 1_000_000) fail($"head.classes is {Classes}; a classifier has from 2 to a million classes");
        if (Features is < 1 or > 1_000_000) fail($"head.features is {Features}; it must be from 1 to a million");
        if ((long)Classes * Features > 100_000_000) fail($"head is {Classes} x {Features}, over 100 million weights");
    }

    public (float[] Weight, float[] Bias) Read(string file) => (
        PackedValues.ReadFloat32(WeightFloat32, (long)Classes * Features, file, "head.weightFloat32"),
        PackedValues.ReadFloat32(BiasFloat32, Classes, file, "head.biasFloat32"));

    public static HeadManifest From(string input, float[] weight, float[] bias) => new()
    {
        Input = input, Classes = bias.Length, Features = weight.Length / Math.Max(1, bias.Length),
        WeightFloat32 = PackedValues.Float32(weight), BiasFloat32 = PackedValues.Float32(bias),
    };
}

/// <summary>A tap as written in a manifest: the name, and optionally its reduction.</summary>
public sealed class TapManifest
{
    public string Name { get; set; } = "";
    public string? Reduction { get; set; }
}

/// <summary>The training recipe and history as written in a manifest.</summary>
public sealed class TrainingManifest
{
    public string Dataset { get; set; } = "";
    public int TrainingCount { get; set; }
    public string ValidationDataset { get; set; } = "";
    public int ValidationCount { get; set; }
    public int EpochsRequested { get; set; }
    public int BatchSize { get; set; }
    public string Optimizer { get; set; } = "";
    public double LearningRate { get; set; }
    public string Schedule { get; set; } = "";
    public long Seed { get; set; }
    public bool Augmented { get; set; }
    public int Threads { get; set; }
    public bool Interrupted { get; set; }
    public string? FineTunedFrom { get; set; }
    public string? OutlierDataset { get; set; }
    public int OutlierCount { get; set; }
    public double OutlierWeight { get; set; }
    public List<EpochManifest> Epochs { get; set; } = new();

    public FssdTrainingInfo ToInfo() => new()
    {
        Dataset = Dataset, TrainingCount = TrainingCount, ValidationDataset = ValidationDataset, ValidationCount = ValidationCount,
        EpochsRequested = EpochsRequested, BatchSize = BatchSize, Optimizer = Optimizer, LearningRate = LearningRate,
        Schedule = Schedule, Seed = Seed, Augmented = Augmented, Threads = Threads, Interrupted = Interrupted,
        FineTunedFrom = FineTunedFrom ?? "", OutlierDataset = OutlierDataset ?? "", OutlierCount = OutlierCount, OutlierWeight = OutlierWeight,
        Epochs = Epochs.Select(e => new FssdEpochResult
        {
            Epoch = e.Epoch, Loss = e.Loss, Accuracy = e.Accuracy, LearningRate = e.LearningRate, Seconds = e.Seconds,
        }).ToList(),
    };
}

/// <summary>One epoch as written in a manifest.</summary>
public sealed class EpochManifest
{
    public int Epoch { get; set; }
    public double Loss { get; set; }
    public double Accuracy { get; set; }
    public double LearningRate { get; set; }
    public double Seconds { get; set; }
}
