using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models.Onnx;

/// <summary>
/// An ONNX model run as TorchSharp operations, node by node, so that input gradients and perturbations
/// work as for every other model. Its initializers are buffers of the module (Module.to moves them). Its
/// outputs are the logits (or, for a network without a classifier head, its output) and then the node
/// outputs chosen as taps.
/// </summary>
public sealed class OnnxNetwork : nn.Module<Tensor, Tensor[]>, ITappedNetwork
{
    private readonly OnnxProgram _program;
    private readonly string _source;
    private readonly Dictionary<string, string> _buffers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _integers = new(StringComparer.Ordinal);
    private string[] _returned;
    private IReadOnlyList<TapDefinition> _defaultTaps = Array.Empty<TapDefinition>();
    private string? _headInput;
    private readonly Dictionary<string, TorchSharp.Modules.Parameter> _trainable = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, long[]> _shapes = new Dictionary<string, long[]>();
    private readonly Dictionary<string, Tensor> _channelsLast = new(StringComparer.Ordinal);

    /// <summary>The name of a trained head's logits, as a tap and as the model's output.</summary>
    public const string HeadOutput = "logits";

    internal OnnxNetwork(OnnxProgram program, string source) : base("onnx")
    {
        _program = program;
        _source = source;
        int k = 0;
        foreach (var (name, value) in program.Constants)
        {
            string buffer = "c" + k++.ToString(System.Globalization.CultureInfo.InvariantCulture);
            // Buffers belong to the module, not to whatever dispose scope the loader runs in.
            register_buffer(buffer, ToTensor(value).DetachFromDisposeScope());
            _buffers[name] = buffer;
            if (value.Longs is not null) _integers[name] = value.Longs;
        }
        _returned = new[] { program.Outputs[0] };
        OutputName = program.Outputs[0];
        LogitsName = OutputName;
    }

    /// <summary>Reads an ONNX model file, and optionally a preprocessing graph to run in front of it.</summary>
    public static OnnxNetwork Load(string path, string? preprocessingPath = null)
    {
        var program = OnnxProgram.FromFile(OnnxFile.Read(path), path);
        if (preprocessingPath is not null)
            program = program.After(OnnxProgram.FromFile(OnnxFile.Read(preprocessingPath), preprocessingPath), preprocessingPath, path);
        if (program.Inputs.Count != 1)
            throw new FssdModelException(
                $"'{path}' has {program.Inputs.Count} inputs ({string.Join(", ", program.Inputs.Select(i => i.Name))}); the module feeds a model one image batch.");
        var input = program.Inputs[0];
        if (input.ElementType is not (0 or OnnxDataType.Float))
            throw new FssdModelException($"'{path}' takes '{input.Name}' as {OnnxDataType.Name(input.ElementType)}; the module feeds float32 images.");
        if (input.Shape is { } shape && shape.Count != 4)
            throw new FssdModelException(
                $"'{path}' takes '{input.Name}' of shape [{string.Join(", ", shape.Select(Describe))}]; the module feeds images [batch, channels, height, width].");
        return new OnnxNetwork(program, path);
    }

    /// <summary>
    /// Puts a linear classifier on the node output <paramref name="input"/> (a feature map is read as its
    /// channels' means): its logits become the model's logits and the tap <see cref="HeadOutput"/>. The head's
    /// weights are frozen buffers like the graph's own.
    /// </summary>
    public void AttachHead(string input, float[] weight, float[] bias)
    {
        if (!_program.Producers.ContainsKey(input))
            throw new FssdModelException($"'{_source}' has no node output '{input}' for the head to read.");
        if (bias.Length < 2 || weight.Length % bias.Length != 0)
            throw new FssdModelException($"A head of {weight.Length} weights and {bias.Length} biases is not a [classes, features] matrix.");
        register_buffer("head_weight", tensor(weight, new long[] { bias.Length, weight.Length / bias.Length }, ScalarType.Float32).DetachFromDisposeScope());
        register_buffer("head_bias", tensor(bias, new long[] { bias.Length }, ScalarType.Float32).DetachFromDisposeScope());
        _headInput = input;
        LogitsName = HeadOutput;
        _returned = new[] { HeadOutput };
    }

    /// <summary>Whether a trained head gives the logits.</summary>
    public bool HasHead => _headInput is not null;

    /// <summary>
    /// The feature a classifier reads: a trained head's input, or the input of the network's own classifier,
    /// or the output of a network without one. Set by <see cref="Probe"/>.
    /// </summary>
    public string FeatureName { get; private set; } = "";

    /// <summary>The feature a head reads, one vector per input: a map's channel means, anything else flattened.</summary>
    public static Tensor HeadFeature(Tensor raw) => raw.dim() > 2 ? raw.flatten(2).mean(new long[] { 2 }) : raw.flatten(1);

    /// <summary><see cref="FeatureName"/>'s value for a batch, as [batch, features] (<see cref="HeadFeature"/>).</summary>
    public Tensor Features(Tensor input)
    {
        using var scope = NewDisposeScope();
        var values = Run(new Dictionary<string, Tensor> { [InputName] = input }, new[] { FeatureName });
        return HeadFeature(values[FeatureName]).MoveToOuterDisposeScope();
    }

    private Tensor HeadLogits(Tensor feature)
    {
        var weight = get_buffer("head_weight")!;
        var bias = get_buffer("head_bias")!;
        var f = HeadFeature(feature);
        return nn.functional.linear(f.dtype == weight.dtype ? f : f.to_type(weight.dtype), weight, bias);
    }

    /// <summary>The graph values <paramref name="outputs"/> need: the head's input in place of its logits.</summary>
    private string[] GraphValues(IEnumerable<string> outputs) =>
        outputs.Select(n => n == HeadOutput && _headInput is not null ? _headInput : n).Distinct().ToArray();

    /// <summary>
    /// The network's last stage, for fine-tuning (after <see cref="Probe"/>): its input, the output of the stage
    /// before it (the second-to-last feature map with more than one position among the default taps), and the float initializers that only
    /// the steps from there to <see cref="FeatureName"/> read — convolution and Gemm weights and biases, batch
    /// normalisation's scale and shift (not its running statistics, which stay as they are).
    /// </summary>
    public (string Input, IReadOnlyList<string> Initializers) LastStage()
    {
        var maps = _defaultTaps.Where(t => _shapes.TryGetValue(t.Name, out var s) && s.Length == 4 && s[2] * s[3] > 1 && t.Name != HeadOutput).Select(t => t.Name).ToList();
        if (maps.Count < 2)
            throw new FssdModelException($"'{_source}' has {maps.Count} stage(s) among its feature maps; training the last stage needs one before it to start from.");
        string input = maps[^2];
        var stage = NeededSteps(new[] { FeatureName }, new HashSet<string>(StringComparer.Ordinal) { input });
        var before = NeededSteps(new[] { input }, new HashSet<string>(StringComparer.Ordinal));
        var readBefore = new HashSet<string>(StringComparer.Ordinal);
        for (int s = 0; s < before.Length; s++) if (before[s]) foreach (string i in _program.Steps[s].Node.Inputs) readBefore.Add(i);
        var names = new List<string>();
        for (int s = 0; s < stage.Length; s++)
        {
            if (!stage[s]) continue;
            var node = _program.Steps[s].Node;
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                string name = node.Inputs[i];
                if (node.OpType == "BatchNormalization" && i >= 3) continue;
                if (name.Length == 0 || readBefore.Contains(name) || names.Contains(name)) continue;
                if (_program.Constants.TryGetValue(name, out var value) && value.Floats is not null && value.ElementCount > 1) names.Add(name);
            }
        }
        if (names.Count == 0) throw new FssdModelException($"'{_source}' has no weights between '{input}' and '{FeatureName}' to train.");
        return (input, names);
    }

    /// <summary>The shape a value had in <see cref="Probe"/> (its batch of one).</summary>
    public long[] ValueShape(string name) =>
        _shapes.TryGetValue(name, out var shape) ? shape : throw new FssdModelException($"'{_source}' has no float32 value '{name}' (after a probe).");

    /// <summary>Makes the initializers <paramref name="names"/> trainable parameters (in place of their frozen buffers); returns them.</summary>
    public IReadOnlyList<TorchSharp.Modules.Parameter> MakeTrainable(IEnumerable<string> names)
    {
        var made = new List<TorchSharp.Modules.Parameter>();
        foreach (string name in names)
        {
            if (!_buffers.TryGetValue(name, out var key)) throw new FssdModelException($"'{_source}' has no initializer '{name}'.");
            if (_trainable.TryGetValue(name, out var known)) { made.Add(known); continue; }
            var value = get_buffer(key)!;
            var parameter = new TorchSharp.Modules.Parameter(value.detach().clone(), requires_grad: true);
            register_parameter("p" + key, parameter);
            _trainable[name] = parameter;
            made.Add(parameter);
        }
        return made;
    }

    /// <summary>The values of the trainable initializers, by name, as float32 on the CPU.</summary>
    public Dictionary<string, float[]> TrainedValues()
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in _trainable)
        {
            using var cpu = parameter.detach().to_type(ScalarType.Float32).cpu().contiguous();
            values[name] = cpu.data<float>().ToArray();
        }
        return values;
    }

    /// <summary>
    /// Runs the graph from intermediate values (e.g. a stage's input) to <paramref name="wanted"/>: what the
    /// given values depend on is not computed.
    /// </summary>
    public Dictionary<string, Tensor> RunFrom(IReadOnlyDictionary<string, Tensor> given, IReadOnlyCollection<string> wanted) => Run(given, wanted, intermediate: true);

    /// <summary>The steps that compute <paramref name="wanted"/>, stopping at values in <paramref name="given"/>.</summary>
    private bool[] NeededSteps(IEnumerable<string> wanted, ISet<string> given)
    {
        var needed = new bool[_program.Steps.Count];
        var pending = new Stack<string>(wanted);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            string v = pending.Pop();
            if (!seen.Add(v) || given.Contains(v)) continue;
            if (_program.Producers.TryGetValue(v, out int p) && !needed[p])
            {
                needed[p] = true;
                foreach (string i in _program.Steps[p].Node.Inputs) if (i.Length > 0) pending.Push(i);
            }
        }
        return needed;
    }

    private static string Describe(OnnxDimension d) => d.Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Parameter ?? "?";

    /// <summary>The graph's input.</summary>
    public string InputName => _program.Inputs[0].Name;

    /// <summary>The graph input's channels, height and width where the file fixes them (null where dynamic).</summary>
    public (int? Channels, int? Height, int? Width) InputSize
    {
        get
        {
            var shape = _program.Inputs[0].Shape;
            int? At(int i) => shape is { Count: 4 } && shape[i].Value is > 0 and <= int.MaxValue ? (int)shape[i].Value!.Value : null;
            return (At(1), At(2), At(3));
        }
    }

    /// <summary>The graph's first output.</summary>
    public string OutputName { get; }

    /// <summary>What the module reads as logits: the first output, or the input of the Softmax that makes it.</summary>
    public string LogitsName { get; private set; }

    /// <summary>Whether the network ends in a classifier (a Gemm or MatMul writing [batch, classes]), found by <see cref="Probe"/>.</summary>
    public bool HasClassifier { get; private set; }

    public nn.Module Module => this;

    /// <summary>The stage outputs and the last feature, found by <see cref="Probe"/>.</summary>
    public IReadOnlyList<TapDefinition> DefaultTaps => _defaultTaps;

    /// <summary>Every value a node computes, in graph order (what -Layer may name).</summary>
    public IEnumerable<string> NodeOutputs => _program.Steps.SelectMany(s => s.Node.Outputs).Where(o => o.Length > 0);

    /// <summary>
    /// Runs the graph once on an example input and chooses the default taps: the output of each stage (the
    /// last value at a spatial resolution before the network downsamples, counting only values computed
    /// from a learned layer) and the last feature (the input of a final Gemm or MatMul classifier, or the
    /// output when there is no classifier). Returns the shape of every float value.
    /// </summary>
    public IReadOnlyDictionary<string, long[]> Probe(Tensor example)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var everything = NodeOutputs.ToList();
        var values = Run(new Dictionary<string, Tensor> { [InputName] = example }, everything);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
            if (value.dtype == ScalarType.Float32 && !_buffers.ContainsKey(name)) shapes[name] = value.shape;

        string? feature;
        if (_headInput is not null)
        {
            var weight = get_buffer("head_weight")!;
            if (!shapes.TryGetValue(_headInput, out var inputShape) || inputShape.Length < 2)
                throw new FssdModelException($"The head of '{_source}' reads '{_headInput}', which is not a float32 feature.");
            if (inputShape[1] != weight.shape[1])
                throw new FssdModelException(
                    $"The head of '{_source}' takes {weight.shape[1]} features, but '{_headInput}' has {inputShape[1]} channels ([{string.Join(", ", inputShape)}]).");
            feature = _headInput;
            LogitsName = HeadOutput;
            HasClassifier = true;
            shapes[HeadOutput] = new[] { example.shape[0], weight.shape[0] };
        }
        else
        {
            LogitsName = OutputName;
            if (Producer(OutputName) is { OpType: "Softmax" } softmax && softmax.Inputs.Count == 1) LogitsName = softmax.Inputs[0];
            feature = ClassifierInput(LogitsName, shapes);
            HasClassifier = feature is not null;
            if (!HasClassifier) LogitsName = OutputName;
        }
        FeatureName = feature ?? OutputName;
        _shapes = shapes;

        var learned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in _program.Steps)
            if (step.Node.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" || step.Node.Inputs.Any(learned.Contains))
                foreach (var o in step.Node.Outputs) learned.Add(o);
        var taps = new List<string>();
        string? current = null;
        long currentSize = 0;
        foreach (string name in everything)
        {
            if (!learned.Contains(name) || !shapes.TryGetValue(name, out var shape) || shape.Length < 3) continue;
            long size = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            if (current is not null && size < currentSize && !taps.Contains(current)) taps.Add(current);
            current = name;
            currentSize = size;
        }
        string last = feature ?? OutputName;
        // A head's input may be a stage's output (a map the head averages): it is listed once, where it falls.
        if (!taps.Contains(last)) taps.Add(last);
        if (_headInput is not null) taps.Add(HeadOutput);
        _defaultTaps = taps.Select((t, i) => new TapDefinition(t, i + 1, shapes.TryGetValue(t, out var s) && s.Length > 2 ? TapReduction.SpatialMean : TapReduction.Flatten)).ToList();
        return shapes;
    }

    /// <summary>The data operand of the Gemm or MatMul (with its bias Add) that writes <paramref name="logits"/> as [batch, classes].</summary>
    private string? ClassifierInput(string logits, IReadOnlyDictionary<string, long[]> shapes)
    {
        if (!shapes.TryGetValue(logits, out var shape) || shape.Length != 2 || shape[1] < 2) return null;
        var node = Producer(logits);
        if (node is { OpType: "Add" })
            node = node.Inputs.Select(Producer).FirstOrDefault(p => p is { OpType: "MatMul" });
        if (node is null || node.OpType is not ("Gemm" or "MatMul") || node.Inputs.Count < 2) return null;
        bool firstIsData = !_program.Constants.ContainsKey(node.Inputs[0]);
        return firstIsData ? node.Inputs[0] : node.Inputs[1];
    }

    private OnnxNode? Producer(string value) => _program.Producers.TryGetValue(value, out int i) ? _program.Steps[i].Node : null;

    /// <summary>Chooses what <see cref="Forward"/> returns after the logits: these values, in order (tap k is output k + 1).</summary>
    public void SetTaps(IReadOnlyList<string> taps)
    {
        foreach (string t in taps)
            if (!_program.Producers.ContainsKey(t) && !(t == HeadOutput && _headInput is not null))
                throw new FssdModelException(
                    $"'{_source}' has no node output '{t}'; its default taps are {string.Join(", ", _defaultTaps.Select(d => d.Name))}, and any node output may be named.");
        _returned = new[] { LogitsName }.Concat(taps).ToArray();
    }

    public Tensor[] Forward(Tensor input) => forward(input);

    /// <summary>
    /// On the CPU, keeps a channels-last copy of the weight of every plain 2-d convolution with a kernel
    /// larger than 1 × 1 in both directions (one group, no dilation) and gives it to the convolution in place
    /// of the stored one. oneDNN then computes it in NHWC and writes its output channels-last; batch norm,
    /// ReLU, Add and pooling keep that layout, so a ResNet runs in NHWC between its 3 × 3 convolutions
    /// (docs/photos.md measures the speed). Every other convolution is given its input in the plain layout
    /// (<see cref="OnnxOperators"/>): libtorch 2.10's channels-last 1 × 1 convolutions with 512 or more
    /// outputs compute wrong values on this machine's CPU and can crash (found here, over a grid of shapes;
    /// 3 × 3 and 7 × 7 agreed everywhere). Values keep their shape and meaning, the stored initializers,
    /// trainable copies and exported files are untouched, and the outputs agree with the plain layout to
    /// float rounding (xunit). Other devices keep the stored layout: it was not measured there.
    /// </summary>
    public void PrepareForInference()
    {
        ReleaseChannelsLast();
        var buffers = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in named_buffers(recurse: false)) buffers[name] = tensor;
        using var noGrad = no_grad();
        foreach (var (node, _) in _program.Steps)
        {
            if (node.OpType != "Conv" || node.Inputs.Count < 2 || _channelsLast.ContainsKey(node.Inputs[1])) continue;
            if (node.Attributes.TryGetValue("group", out var group) && group.Int != 1) continue;
            if (node.Attributes.TryGetValue("dilations", out var dilations) && dilations.Ints.Any(d => d != 1)) continue;
            if (!_buffers.TryGetValue(node.Inputs[1], out var key) || !buffers.TryGetValue(key, out var weight)) continue;
            if (weight.dim() != 4 || weight.dtype != ScalarType.Float32 || weight.device_type != DeviceType.CPU) continue;
            if (weight.shape[2] < 2 || weight.shape[3] < 2) continue;
            _channelsLast[node.Inputs[1]] = MemoryLayout.ToChannelsLast(weight).DetachFromDisposeScope();
        }
    }

    private void ReleaseChannelsLast()
    {
        foreach (var t in _channelsLast.Values) t.Dispose();
        _channelsLast.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseChannelsLast();
        base.Dispose(disposing);
    }

    public override Tensor[] forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var values = Run(new Dictionary<string, Tensor> { [InputName] = input }, GraphValues(_returned));
        var result = _returned.Select(n => n == HeadOutput && _headInput is not null ? HeadLogits(values[_headInput]) : values[n].alias()).ToArray();
        foreach (var r in result) r.MoveToOuterDisposeScope();
        return result;
    }

    /// <inheritdoc cref="ITappedNetwork.ForwardUntil"/>
    public Tensor ForwardUntil(Tensor input, int outputIndex)
    {
        using var scope = NewDisposeScope();
        string wanted = _returned[outputIndex];
        if (wanted == HeadOutput && _headInput is not null)
            return HeadLogits(Run(new Dictionary<string, Tensor> { [InputName] = input }, new[] { _headInput })[_headInput]).MoveToOuterDisposeScope();
        var values = Run(new Dictionary<string, Tensor> { [InputName] = input }, new[] { wanted });
        return values[wanted].alias().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the nodes that <paramref name="wanted"/> depends on and returns the wanted values (and, for
    /// <see cref="Probe"/>, every value). Intermediate values are disposed after their last use.
    /// </summary>
    internal Dictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyCollection<string> wanted, bool intermediate = false)
    {
        var buffers = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in named_buffers(recurse: false)) buffers[name] = tensor;
        Tensor Constant(string value)
        {
            if (_trainable.TryGetValue(value, out var p)) return p;
            var stored = buffers[_buffers[value]];
            // A copy made for the CPU serves only while the weights are still there.
            return _channelsLast.TryGetValue(value, out var c) && c.device_type == stored.device_type ? c : stored;
        }

        // The steps the wanted values need, and the last step that reads each value.
        var needed = new bool[_program.Steps.Count];
        var pending = new Stack<string>(wanted);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            string v = pending.Pop();
            if (!seen.Add(v) || (intermediate && inputs.ContainsKey(v))) continue;
            if (_program.Producers.TryGetValue(v, out int p) && !needed[p])
            {
                needed[p] = true;
                foreach (string i in _program.Steps[p].Node.Inputs) if (i.Length > 0) pending.Push(i);
            }
            else if (!_program.Producers.ContainsKey(v) && !inputs.ContainsKey(v) && !_buffers.ContainsKey(v))
            {
                throw new FssdModelException($"'{_source}' has no value '{v}'.");
            }
        }
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int s = 0; s < needed.Length; s++)
            if (needed[s]) foreach (string i in _program.Steps[s].Node.Inputs) if (i.Length > 0) lastUse[i] = s;
        var keep = new HashSet<string>(wanted, StringComparer.Ordinal);

        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, value) in inputs)
        {
            if (!intermediate && !_program.Inputs.Any(i => i.Name == name)) throw new FssdModelException($"'{_source}' has no input '{name}'.");
            values[name] = value;
        }
        long batch = inputs.Values.Select(t => t.dim() > 0 ? t.shape[0] : 1).DefaultIfEmpty(1).Max();
        Tensor Value(string name) => values.TryGetValue(name, out var t) ? t : _buffers.ContainsKey(name) ? Constant(name)
            : throw new FssdModelException($"'{_source}' needs the input '{name}', which was not given.");

        for (int s = 0; s < needed.Length; s++)
        {
            if (!needed[s]) continue;
            var (node, opset) = _program.Steps[s];
            var args = node.Inputs.Select(n => n.Length == 0 ? null : Value(n)).ToArray();
            long[] Integers(int index)
            {
                string name = node.Inputs[index];
                if (_integers.TryGetValue(name, out var known)) return known;
                var t = args[index]!;
                if (t.dtype is not (ScalarType.Int64 or ScalarType.Int32))
                    throw new FssdModelException($"The ONNX node {node.Label} ({node.OpType}) reads '{name}' as integers, but it is {t.dtype}.");
                return t.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
            }
            Tensor?[] outputs;
            try
            {
                outputs = OnnxOperators.Run(new OnnxNodeCall(node, opset, args, Integers, batch));
            }
            catch (Exception e) when (e is ExternalException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException)
            {
                string message = e.Message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? e.GetType().Name;
                throw new FssdModelException($"'{_source}': the ONNX node {node.Label} ({node.OpType}) failed on inputs of shape {string.Join(" and ", args.Select(a => a is null ? "(none)" : "[" + string.Join(", ", a.shape) + "]"))}: {message}", e);
            }
            for (int j = 0; j < node.Outputs.Count; j++)
            {
                string name = node.Outputs[j];
                var t = j < outputs.Length ? outputs[j] : null;
                if (name.Length == 0 || t is null)
                {
                    t?.Dispose();
                    continue;
                }
                if (!lastUse.ContainsKey(name) && !keep.Contains(name))
                {
                    t.Dispose();
                    continue;
                }
                values[name] = t;
            }
            foreach (string i in node.Inputs)
            {
                // Values the caller gave are the caller's to dispose.
                if (i.Length == 0 || keep.Contains(i) || !_program.Producers.ContainsKey(i) || inputs.ContainsKey(i)) continue;
                if (lastUse.TryGetValue(i, out int last) && last == s && values.Remove(i, out var done)) done.Dispose();
            }
        }
        // A wanted value may be a constant (a graph that returns a Constant node's value).
        foreach (string w in wanted)
            if (!values.ContainsKey(w) && _buffers.ContainsKey(w)) values[w] = Constant(w).alias();
        return values;
    }

    internal static Tensor ToTensor(OnnxTensor t)
    {
        if (t.ElementCount == 0) return zeros(t.Dims, t.Floats is not null ? ScalarType.Float32 : ScalarType.Int64);
        if (t.Floats is { } f) return tensor(f, t.Dims, ScalarType.Float32);
        if (t.Longs is { } l) return tensor(l, t.Dims, ScalarType.Int64);
        throw new FssdModelException($"The ONNX tensor {t} has no values.");
    }
}
