using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Models.Onnx;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>Turns a manifest or a weights file into a <see cref="LoadedModel"/> on a device.</summary>
public static class ModelLoader
{
    /// <summary>Reads the request into a manifest and the directory its relative paths start from.</summary>
    public static (ModelManifest Manifest, string BaseDirectory, string SourcePath) Describe(ModelLoadRequest request)
    {
        if (request.Pretrained is not null) return PretrainedModels.Describe(request);
        string path = System.IO.Path.GetFullPath(request.Path);
        if (Directory.Exists(path)) throw new FssdModelException($"'{path}' is a directory; give a model manifest (.yaml) or a weights file.");
        if (!File.Exists(path)) throw new FssdFileNotFoundException($"The model file '{path}' does not exist.", path);
        string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".yaml" or ".yml")
        {
            if (request.Architecture is not null)
                throw new FssdModelException($"'{path}' is a manifest; it names its own architecture, so leave -Architecture out.");
            var options = ManifestOptions(request);
            if (options.Count > 0)
                throw new FssdModelException($"'{path}' is a manifest; it sets the model's options itself, so leave {string.Join(", ", options)} out (or edit the manifest).");
            return (ModelManifest.Load(path, request.ReadOptions), System.IO.Path.GetDirectoryName(path)!, path);
        }
        string? architecture = request.Architecture;
        if (architecture is null)
        {
            // ONNX files describe their own network; weights files need to be told which one.
            if (WeightsFormatDetector.Detect(path) == WeightsFormat.Onnx) architecture = ArchitectureCatalog.Onnx;
            else throw new FssdModelException(
                $"'{path}' is a weights file; say which network it belongs to with -Architecture ({string.Join(", ", ArchitectureCatalog.Names)}), or import a manifest (.yaml).");
        }
        var manifest = new ModelManifest
        {
            Architecture = ArchitectureCatalog.Canonical(architecture),
            Name = request.Name,
            Weights = System.IO.Path.GetFileName(path),
            Stem = request.Stem?.ToLowerInvariant(),
            ClassNames = request.ClassNames?.ToList(),
            ClassCount = request.ClassNames?.Count,
            Taps = request.Layers?.Select(l => new TapManifest { Name = l }).ToList(),
        };
        if (request.InputSize is not null || request.ColorMode is not null || request.Mean is not null || request.Std is not null)
        {
            if (request.InputSize is { Length: not 2 }) throw new FssdModelException("-InputSize takes two numbers: height, width.");
            manifest.Input = new InputManifest
            {
                Height = request.InputSize?[0],
                Width = request.InputSize?[1],
                ColorMode = request.ColorMode?.ToString(),
                Channels = request.ColorMode is null ? null : request.ColorMode == ColorMode.Gray ? 1 : 3,
                Mean = request.Mean?.ToList(),
                Std = request.Std?.ToList(),
            };
        }
        manifest.Validate(path);
        return (manifest, System.IO.Path.GetDirectoryName(path)!, path);
    }

    /// <summary>The options of a request that only a weights file takes (a manifest sets them itself).</summary>
    private static List<string> ManifestOptions(ModelLoadRequest r)
    {
        var given = new List<string>();
        if (r.Name is not null) given.Add("-Name");
        if (r.ClassNames is not null) given.Add("-ClassNames");
        if (r.InputSize is not null) given.Add("-InputSize");
        if (r.ColorMode is not null) given.Add("-ColorMode");
        if (r.Mean is not null) given.Add("-Mean");
        if (r.Std is not null) given.Add("-Std");
        if (r.Stem is not null) given.Add("-Stem");
        if (r.Layers is not null) given.Add("-Layer");
        return given;
    }

    /// <summary>Builds the network, loads its weights and probes its taps.</summary>
    public static LoadedModel Load(string id, ModelManifest given, string baseDirectory, string sourcePath, string sha256, Device device)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        string weightsPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, given.Weights));
        string architecture = ArchitectureCatalog.Canonical(given.Architecture);
        var format = WeightsFormatDetector.Detect(weightsPath);
        var resolved = given.Clone();
        resolved.Architecture = architecture;

        ITappedNetwork network;
        // Built-in architectures can be built again, for a copy of the network in another number format.
        Func<BuiltInNetwork>? rebuild = null;
        OnnxNetwork? onnx = null;
        ResNetStem stem = ResNetStem.Cifar;
        if (architecture == ArchitectureCatalog.TorchScript)
        {
            if (format != WeightsFormat.TorchScript)
                throw new FssdModelException($"'{weightsPath}' is {StateDictReader.Describe(format)}, not a TorchScript archive (torch.jit.save).");
            network = LoadTorchScript(weightsPath, device);
        }
        else if (architecture == ArchitectureCatalog.Onnx)
        {
            // TorchSharp is what an unrecognised file is taken for: parse it as ONNX, for the precise error.
            if (format is not (WeightsFormat.Onnx or WeightsFormat.TorchSharp))
                throw new FssdModelException($"'{weightsPath}' is {StateDictReader.Describe(format)}, not an ONNX model.");
            string? preprocessing = given.Preprocessing is null ? null : System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, given.Preprocessing));
            onnx = OnnxNetwork.Load(weightsPath, preprocessing);
            if (given.Head is { } head)
            {
                var (weight, bias) = head.Read($"The manifest '{sourcePath}'");
                onnx.AttachHead(head.Input, weight, bias);
            }
            // Absolute, so that a detector or an export can find it from wherever it is written.
            resolved.Preprocessing = preprocessing;
            network = onnx;
            network.Module.to(device);
        }
        else
        {
            if (format == WeightsFormat.TorchScript)
                throw new FssdModelException($"'{weightsPath}' is a TorchScript archive; import it with -Architecture TorchScript.");
            if (format == WeightsFormat.Onnx)
                throw new FssdModelException($"'{weightsPath}' is an ONNX model, which describes its own network; import it without -Architecture (or with -Architecture Onnx).");
            Dictionary<string, Tensor>? state = format == WeightsFormat.TorchSharp ? null : StateDictReader.Read(weightsPath, format);
            try
            {
                int classes = given.ClassCount ?? given.ClassNames?.Count ?? InferClasses(state, architecture) ?? 10;
                stem = ResolveStem(given, state);
                var builtStem = stem;
                rebuild = () => architecture switch
                {
                    ArchitectureCatalog.LeNet => new LeNet(classes),
                    ArchitectureCatalog.ResNet18 => ResNet.ResNet18(classes, builtStem),
                    _ => ResNet.ResNet34(classes, builtStem),
                };
                network = rebuild();
                string described = architecture == ArchitectureCatalog.LeNet ? architecture : $"{architecture} ({stem} stem)";
                if (state is null) WeightLoader.Load(network.Module, weightsPath, format, described);
                else WeightLoader.Apply(network.Module, state, weightsPath, described);
                resolved.ClassCount = classes;
                if (architecture != ArchitectureCatalog.LeNet) resolved.Stem = stem.ToString().ToLowerInvariant();
            }
            finally
            {
                if (state is not null) foreach (var t in state.Values) t.Dispose();
            }
            network.Module.to(device);
        }
        network.Module.eval();
        // A loaded model is only ever evaluated: frozen parameters make every backward pass compute
        // the input gradient alone (what the FSSD perturbation needs).
        foreach (var parameter in network.Module.parameters()) parameter.requires_grad = false;
        network.PrepareForInference();

        var input = ResolveInput(given, onnx is null ? ArchitectureCatalog.DefaultInput(architecture, stem) : OnnxDefaultInput(onnx, given));
        IReadOnlyList<TapDefinition> taps;
        List<FssdLayerInfo> layers;
        int classCount;
        bool hasClassifier = true;
        if (onnx is not null)
        {
            (taps, layers, classCount, hasClassifier) = ProbeOnnx(onnx, given, input, device, weightsPath);
        }
        else
        {
            var rawTaps = ProbeTaps(network, input, device, weightsPath, out classCount, out var sizes);
            taps = SelectTaps(given, rawTaps, architecture, weightsPath);
            layers = taps.Select(t => new FssdLayerInfo { Name = t.Name, FeatureSize = sizes[t.OutputIndex](t), Reduction = t.Reduction }).ToList();
        }

        List<string> classNames;
        if (hasClassifier)
        {
            classNames = given.ClassNames ?? Enumerable.Range(0, classCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            if (classNames.Count != classCount)
                throw new FssdModelException($"'{sourcePath}' names {classNames.Count} classes but the network has {classCount} outputs.");
            resolved.ClassCount = classCount;
            resolved.ClassNames = classNames.ToList();
        }
        else
        {
            if (given.ClassNames is { Count: > 0 } || given.ClassCount is not null)
                throw new FssdModelException(
                    $"'{sourcePath}' names classes, but the network has no classifier head: its output '{onnx!.OutputName}' is a feature, not logits [batch, classes].");
            classNames = new List<string>();
            resolved.ClassCount = null;
            resolved.ClassNames = null;
        }
        resolved.Input = new InputManifest
        {
            Channels = input.Channels, Height = input.Height, Width = input.Width,
            ColorMode = input.ColorMode.ToString(), ValueRange = input.ValueRange.ToList(),
            Mean = input.Mean.ToList(), Std = input.Std.ToList(),
        };
        resolved.Taps = taps.Select(t => new TapManifest { Name = t.Name, Reduction = ToYamlName(t.Reduction) }).ToList();
        resolved.Name ??= System.IO.Path.GetFileNameWithoutExtension(sourcePath);

        var info = new FssdModel
        {
            Id = id,
            Name = resolved.Name,
            Architecture = architecture,
            Device = new DeviceSpec(device.type == DeviceType.CUDA, device.index < 0 ? 0 : (int)device.index).ToString(),
            InputSpec = input,
            Layers = layers,
            ClassNames = classNames,
            HasClassifier = hasClassifier,
            SourcePath = sourcePath,
            WeightsPath = weightsPath,
            Sha256 = sha256,
            LoadMilliseconds = started.Elapsed.TotalMilliseconds,
            Training = given.Training?.ToInfo(),
        };
        return new LoadedModel(info, network, taps, device, resolved, rebuild);
    }

    internal static string ToYamlName(TapReduction r) => r == TapReduction.Flatten ? "flatten" : "spatialMean";

    private static ITappedNetwork LoadTorchScript(string path, Device device)
    {
        try
        {
            return new TorchScriptNetwork(jit.load(path, device));
        }
        catch (Exception e) when (e is ExternalException or ArgumentException or InvalidOperationException or IOException)
        {
            throw new FssdModelException($"'{path}' could not be loaded as TorchScript: it is truncated, corrupt or not a torch.jit.save file ({FirstLine(e.Message)})", e);
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    /// <summary>The one line of a libtorch error that says what went wrong (TorchScript adds a traceback).</summary>
    private static string TorchError(string message)
    {
        var lines = message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        string? runtime = lines.LastOrDefault(l => l.StartsWith("RuntimeError:", StringComparison.Ordinal));
        string line = runtime is not null ? runtime["RuntimeError:".Length..].Trim() : lines.FirstOrDefault() ?? message;
        return line.EndsWith('.') ? line : line + ".";
    }

    private static int? InferClasses(Dictionary<string, Tensor>? state, string architecture)
    {
        string key = architecture == ArchitectureCatalog.LeNet ? "fc2.weight" : "fc.weight";
        return state is not null && state.TryGetValue(key, out var w) && w.dim() == 2 ? (int)w.shape[0] : null;
    }

    private static ResNetStem ResolveStem(ModelManifest manifest, Dictionary<string, Tensor>? state)
    {
        if (manifest.Stem is not null)
            return manifest.Stem.Equals("imagenet", StringComparison.OrdinalIgnoreCase) ? ResNetStem.ImageNet : ResNetStem.Cifar;
        if (state is not null && state.TryGetValue("conv1.weight", out var w) && w.dim() == 4)
            return w.shape[3] == 7 ? ResNetStem.ImageNet : ResNetStem.Cifar;
        return (manifest.Input?.Height ?? 32) > 64 ? ResNetStem.ImageNet : ResNetStem.Cifar;
    }

    /// <summary>An ONNX model's input as its graph declares it (channels, height, width), unnormalized pixels in [0, 1].</summary>
    private static FssdInputSpec OnnxDefaultInput(OnnxNetwork onnx, ModelManifest manifest)
    {
        var (c, h, w) = onnx.InputSize;
        int channels = c ?? manifest.Input?.Channels ?? (manifest.Input?.ColorMode is { } mode && mode.Equals("gray", StringComparison.OrdinalIgnoreCase) ? 1 : 3);
        return new FssdInputSpec
        {
            Channels = channels, Height = h ?? DynamicInputSize, Width = w ?? DynamicInputSize,
            ColorMode = channels == 1 ? ColorMode.Gray : ColorMode.Rgb,
            ValueRange = new[] { 0.0, 1.0 }, Mean = Enumerable.Repeat(0.0, channels).ToArray(), Std = Enumerable.Repeat(1.0, channels).ToArray(),
        };
    }

    /// <summary>The height and width an ONNX model with a dynamic image size is fed unless told otherwise (ImageNet's).</summary>
    private const int DynamicInputSize = 224;

    /// <summary>
    /// Runs an ONNX model once to find its default taps, whether it has a classifier and each tap's size;
    /// then keeps the taps the manifest names (any node output) or the defaults.
    /// </summary>
    private static (IReadOnlyList<TapDefinition> Taps, List<FssdLayerInfo> Layers, int ClassCount, bool HasClassifier) ProbeOnnx(
        OnnxNetwork onnx, ModelManifest manifest, FssdInputSpec input, Device device, string weightsPath)
    {
        IReadOnlyDictionary<string, long[]> shapes;
        using (var scope = NewDisposeScope())
        {
            var example = zeros(new long[] { 1, input.Channels, input.Height, input.Width }, device: device);
            try
            {
                shapes = onnx.Probe(example);
            }
            catch (Exception e) when (e is not OutOfMemoryException && (e is not FssdModelException || e.InnerException is not null))
            {
                string cause = e is FssdModelException ? e.Message : TorchError(e.Message);
                throw new FssdModelException(
                    $"The network from '{weightsPath}' does not accept a {input.Channels}x{input.Height}x{input.Width} input: {cause} Check -InputSize and -ColorMode.", e);
            }
        }
        var chosen = manifest.Taps is { Count: > 0 }
            ? manifest.Taps.Select(t => (t.Name, Reduction: ParseReduction(t.Reduction))).ToList()
            : onnx.DefaultTaps.Select(t => (t.Name, Reduction: (TapReduction?)t.Reduction)).ToList();
        onnx.SetTaps(chosen.Select(t => t.Name).ToList());
        var taps = new List<TapDefinition>();
        var layers = new List<FssdLayerInfo>();
        for (int i = 0; i < chosen.Count; i++)
        {
            var (name, reduction) = chosen[i];
            if (!shapes.TryGetValue(name, out var shape))
                throw new FssdModelException($"The tap '{name}' of '{weightsPath}' is not a float32 feature.");
            var r = reduction ?? (shape.Length > 2 ? TapReduction.SpatialMean : TapReduction.Flatten);
            long size = r == TapReduction.SpatialMean && shape.Length > 2 ? shape[1] : shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            taps.Add(new TapDefinition(name, i + 1, r));
            layers.Add(new FssdLayerInfo { Name = name, FeatureSize = (int)Math.Min(size, int.MaxValue), Reduction = r });
        }
        int classes = onnx.HasClassifier ? (int)shapes[onnx.LogitsName][1] : 0;
        return (taps, layers, classes, onnx.HasClassifier);
    }

    private static FssdInputSpec ResolveInput(ModelManifest manifest, FssdInputSpec d)
    {
        var m = manifest.Input;
        if (m is null) return d;
        var color = m.ColorMode is not null ? Enum.Parse<ColorMode>(m.ColorMode, true)
            : m.Channels is not null ? (m.Channels == 1 ? ColorMode.Gray : ColorMode.Rgb) : d.ColorMode;
        int channels = m.Channels ?? (color == ColorMode.Gray ? 1 : 3);
        double[] Fit(List<double>? values, double[] fallback)
        {
            var v = values?.ToArray() ?? (fallback.Length == channels ? fallback : Enumerable.Repeat(fallback[0], channels).ToArray());
            if (v.Length == 1 && channels > 1) v = Enumerable.Repeat(v[0], channels).ToArray();
            if (v.Length != channels) throw new FssdModelException($"The input spec has {channels} channel(s) but {v.Length} mean/std values.");
            return v;
        }
        return new FssdInputSpec
        {
            Channels = channels,
            Height = m.Height ?? d.Height,
            Width = m.Width ?? d.Width,
            ColorMode = color,
            ValueRange = m.ValueRange?.ToArray() ?? d.ValueRange,
            Mean = Fit(m.Mean, d.Mean),
            Std = Fit(m.Std, d.Std),
        };
    }

    private static IReadOnlyList<TapDefinition> ProbeTaps(ITappedNetwork network, FssdInputSpec input, Device device,
        string weightsPath, out int classCount, out Dictionary<int, Func<TapDefinition, int>> sizes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var example = zeros(new long[] { 1, input.Channels, input.Height, input.Width }, device: device);
        Tensor[] outputs;
        try
        {
            if (network is TorchScriptNetwork script) script.Probe(example);
            outputs = network.Forward(example);
        }
        catch (Exception e) when (e is not FssdModelException and not OutOfMemoryException)
        {
            throw new FssdModelException(
                $"The network from '{weightsPath}' does not accept a {input.Channels}x{input.Height}x{input.Width} input: {TorchError(e.Message)} Check -InputSize and -ColorMode.", e);
        }
        if (outputs[0].dim() != 2)
            throw new FssdModelException($"The first output of '{weightsPath}' has shape [{string.Join(", ", outputs[0].shape)}]; expected logits [batch, classes].");
        classCount = (int)outputs[0].shape[1];
        var shapes = outputs.Select(o => o.shape).ToArray();
        sizes = new Dictionary<int, Func<TapDefinition, int>>();
        for (int i = 0; i < shapes.Length; i++)
        {
            long[] shape = shapes[i];
            sizes[i] = t => (int)(t.Reduction == TapReduction.SpatialMean && shape.Length > 2 ? shape[1] : shape.Skip(1).Aggregate(1L, (a, b) => a * b));
        }
        return network.DefaultTaps;
    }

    private static IReadOnlyList<TapDefinition> SelectTaps(ModelManifest manifest, IReadOnlyList<TapDefinition> available, string architecture, string weightsPath)
    {
        if (manifest.Taps is null || manifest.Taps.Count == 0) return available;
        if (architecture == ArchitectureCatalog.TorchScript)
        {
            // Names for the K features in order; 'logits' may be listed too (it is output 0).
            var named = manifest.Taps.Where(t => !t.Name.Equals("logits", StringComparison.OrdinalIgnoreCase)).ToList();
            int k = available.Count - 1;
            if (named.Count != k)
                throw new FssdModelException($"The manifest names {named.Count} feature tap(s) but '{weightsPath}' returns {k} feature(s) after the logits.");
            var taps = named.Select((t, i) => new TapDefinition(t.Name, i + 1, ParseReduction(t.Reduction) ?? TapReduction.Flatten)).ToList();
            taps.Add(new TapDefinition("logits", 0, TapReduction.Flatten));
            return taps;
        }
        var chosen = new List<TapDefinition>();
        foreach (var t in manifest.Taps)
        {
            var match = available.FirstOrDefault(a => a.Name.Equals(t.Name, StringComparison.OrdinalIgnoreCase))
                ?? throw new FssdModelException($"{architecture} has no tap '{t.Name}'; its taps are {string.Join(", ", available.Select(a => a.Name))}.");
            chosen.Add(match with { Reduction = ParseReduction(t.Reduction) ?? match.Reduction });
        }
        return chosen;
    }

    private static TapReduction? ParseReduction(string? text) =>
        text is null ? null : Enum.Parse<TapReduction>(text, true);
}
