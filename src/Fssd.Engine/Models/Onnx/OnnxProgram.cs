using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Models.Onnx;

/// <summary>A node ready to run: the node and the version of the operator set it was written for.</summary>
internal sealed record OnnxStep(OnnxNode Node, long Opset);

/// <summary>
/// An ONNX graph checked and ready to run: every operator known, every value defined before it is read
/// (ONNX requires topological order), Constant nodes turned into constants. Built once per model.
/// </summary>
internal sealed class OnnxProgram
{
    /// <summary>What values of a composed front graph are renamed with, so that they cannot clash with the model's.</summary>
    public const string FrontPrefix = "preprocess/";

    public IReadOnlyList<OnnxStep> Steps { get; private init; } = Array.Empty<OnnxStep>();

    /// <summary>Initializers and the values of Constant nodes, by value name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Constants { get; private init; } = new Dictionary<string, OnnxTensor>();

    /// <summary>The graph inputs that are not initializers, in order.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; private init; } = Array.Empty<OnnxValueInfo>();
    public IReadOnlyList<string> Outputs { get; private init; } = Array.Empty<string>();

    /// <summary>Which step writes each value (graph inputs and constants are absent).</summary>
    public IReadOnlyDictionary<string, int> Producers { get; private init; } = new Dictionary<string, int>();

    public static OnnxProgram FromFile(OnnxFile file, string source)
    {
        var graph = file.Graph;
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var t in graph.Initializers)
        {
            if (t.Name.Length == 0) throw new FssdModelException($"'{source}' has an initializer without a name.");
            if (!constants.TryAdd(t.Name, t)) throw new FssdModelException($"'{source}' has two initializers named '{t.Name}'.");
        }
        // Before IR version 4 initializers were listed among the inputs too.
        var inputs = graph.Inputs.Where(i => !constants.ContainsKey(i.Name)).ToList();
        var defined = new HashSet<string>(constants.Keys, StringComparer.Ordinal);
        foreach (var i in inputs)
            if (!defined.Add(i.Name)) throw new FssdModelException($"'{source}' declares the input '{i.Name}' twice.");

        var steps = new List<OnnxStep>();
        var producers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (node.Domain is not ("" or "ai.onnx"))
                throw new FssdModelException(
                    $"'{source}' uses the operator '{node.OpType}' of the domain '{node.Domain}' (node {node.Label}), which this module does not implement; it runs ONNX's standard operators {string.Join(", ", OnnxOperators.Supported.OrderBy(o => o, StringComparer.Ordinal))}.");
            if (!OnnxOperators.Supported.Contains(node.OpType))
                throw new UnknownOnnxOperatorException(source, node);
            foreach (string input in node.Inputs)
                if (input.Length > 0 && !defined.Contains(input))
                    throw new FssdModelException(
                        $"'{source}': node {node.Label} ({node.OpType}) reads '{input}', which no graph input, initializer or earlier node defines (ONNX nodes must be in topological order).");
            if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
                throw new FssdModelException($"'{source}': node {node.Label} ({node.OpType}) has no output.");
            foreach (string output in node.Outputs)
                if (output.Length > 0 && !defined.Add(output))
                    throw new FssdModelException($"'{source}': node {node.Label} ({node.OpType}) writes '{output}', which is already defined.");
            if (node.OpType == "Constant")
            {
                constants[node.Outputs[0]] = ConstantValue(node, source);
                continue;
            }
            foreach (string output in node.Outputs.Where(o => o.Length > 0)) producers[output] = steps.Count;
            steps.Add(new OnnxStep(node, file.Opset));
        }
        if (graph.Outputs.Count == 0) throw new FssdModelException($"'{source}' has a graph without outputs.");
        foreach (var o in graph.Outputs)
            if (!defined.Contains(o.Name)) throw new FssdModelException($"'{source}' declares the output '{o.Name}', which nothing computes.");
        return new OnnxProgram
        {
            Steps = steps, Constants = constants, Inputs = inputs, Outputs = graph.Outputs.Select(o => o.Name).ToList(), Producers = producers,
        };
    }

    /// <summary>
    /// One program that runs <paramref name="front"/> (e.g. a preprocessing graph) and feeds its single
    /// output to this program's single input. The front's values are renamed with <see cref="FrontPrefix"/>.
    /// </summary>
    public OnnxProgram After(OnnxProgram front, string frontSource, string source)
    {
        if (front.Inputs.Count != 1 || front.Outputs.Count != 1)
            throw new FssdModelException($"The preprocessing graph '{frontSource}' has {front.Inputs.Count} input(s) and {front.Outputs.Count} output(s); it must have one of each.");
        if (Inputs.Count != 1)
            throw new FssdModelException($"'{source}' has {Inputs.Count} inputs; a preprocessing graph can only feed a model with one.");
        string Rename(string name) => name.Length == 0 ? name : FrontPrefix + name;
        var steps = front.Steps.Select(s => new OnnxStep(new OnnxNode
        {
            Name = Rename(s.Node.Name), OpType = s.Node.OpType, Domain = s.Node.Domain, Attributes = s.Node.Attributes,
            Inputs = s.Node.Inputs.Select(Rename).ToList(), Outputs = s.Node.Outputs.Select(Rename).ToList(),
        }, s.Opset)).ToList();
        var bridge = new OnnxNode
        {
            Name = FrontPrefix + "output", OpType = "Identity",
            Inputs = new[] { Rename(front.Outputs[0]) }, Outputs = new[] { Inputs[0].Name },
        };
        steps.Add(new OnnxStep(bridge, Steps.Count > 0 ? Steps[0].Opset : 13));
        steps.AddRange(Steps);
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var (name, value) in front.Constants) constants[Rename(name)] = value;
        foreach (var (name, value) in Constants)
            if (!constants.TryAdd(name, value)) throw new FssdModelException($"'{source}' and its preprocessing graph both define '{name}'.");
        var producers = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < steps.Count; i++)
            foreach (string output in steps[i].Node.Outputs.Where(o => o.Length > 0))
                if (!producers.TryAdd(output, i)) throw new FssdModelException($"'{source}' and its preprocessing graph both compute '{output}'.");
        var input = front.Inputs[0];
        return new OnnxProgram
        {
            Steps = steps, Constants = constants, Producers = producers, Outputs = Outputs,
            Inputs = new[] { new OnnxValueInfo { Name = Rename(input.Name), ElementType = input.ElementType, Shape = input.Shape } },
        };
    }

    private static OnnxTensor ConstantValue(OnnxNode node, string source)
    {
        var a = node.Attributes;
        string name = node.Outputs[0];
        if (a.TryGetValue("value", out var v) && v.Tensor is { } t)
            return new OnnxTensor { Name = name, Dims = t.Dims, DataType = t.DataType, Floats = t.Floats, Longs = t.Longs };
        if (a.TryGetValue("value_float", out var f))
            return new OnnxTensor { Name = name, DataType = OnnxDataType.Float, Floats = new[] { f.Float } };
        if (a.TryGetValue("value_floats", out var fs))
            return new OnnxTensor { Name = name, Dims = new long[] { fs.Floats.Count }, DataType = OnnxDataType.Float, Floats = fs.Floats.ToArray() };
        if (a.TryGetValue("value_int", out var i))
            return new OnnxTensor { Name = name, DataType = OnnxDataType.Int64, Longs = new[] { i.Int } };
        if (a.TryGetValue("value_ints", out var @is))
            return new OnnxTensor { Name = name, Dims = new long[] { @is.Ints.Count }, DataType = OnnxDataType.Int64, Longs = @is.Ints.ToArray() };
        throw new FssdModelException(
            $"'{source}': the Constant node {node.Label} holds a {string.Join(", ", a.Keys)}; this module reads float32 and int64 constants (value, value_float(s), value_int(s)).");
    }
}

/// <summary>An ONNX model uses an operator this module does not implement; the message names it and the node.</summary>
public sealed class UnknownOnnxOperatorException : FssdModelException
{
    internal UnknownOnnxOperatorException(string source, OnnxNode node)
        : base($"'{source}' uses the ONNX operator '{node.OpType}' (node {node.Label}), which this module does not implement; it runs {string.Join(", ", OnnxOperators.Supported.OrderBy(o => o, StringComparer.Ordinal))}.")
    {
        Operator = node.OpType;
        Node = node.Name.Length > 0 ? node.Name : node.Outputs.FirstOrDefault() ?? "";
    }

    /// <summary>The operator's name, e.g. "Erf".</summary>
    public string Operator { get; }

    /// <summary>The node's name, or its first output when it has no name.</summary>
    public string Node { get; }
}
