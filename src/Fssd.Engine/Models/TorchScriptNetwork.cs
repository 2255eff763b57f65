using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// A network saved with torch.jit.save whose forward returns the logits alone or a tuple
/// (logits, feature1, ..., featureK). TorchSharp returns a ValueTuple for 2–5 outputs and a Tensor[]
/// for more; traced and scripted exports both come through here. Input gradients flow through it.
/// </summary>
public sealed class TorchScriptNetwork : ITappedNetwork
{
    private readonly jit.ScriptModule _module;
    private IReadOnlyList<TapDefinition> _taps = Array.Empty<TapDefinition>();

    public TorchScriptNetwork(jit.ScriptModule module)
    {
        _module = module;
    }

    public nn.Module Module => _module;

    /// <summary>Known after the first forward: layer1..K for the K features, then the logits.</summary>
    public IReadOnlyList<TapDefinition> DefaultTaps => _taps;

    /// <summary>Runs the network once on an example input to learn how many features it returns.</summary>
    public int Probe(Tensor example)
    {
        using var scope = NewDisposeScope();
        var outputs = Forward(example);
        int features = outputs.Length - 1;
        var taps = new List<TapDefinition>();
        for (int k = 1; k <= features; k++) taps.Add(new TapDefinition($"layer{k}", k, TapReduction.Flatten));
        taps.Add(new TapDefinition("logits", 0, TapReduction.Flatten));
        _taps = taps;
        return features;
    }

    public Tensor[] Forward(Tensor input)
    {
        object result = _module.call(input);
        return result switch
        {
            Tensor t => new[] { t },
            Tensor[] array => array,
            ITuple tuple => Enumerable.Range(0, tuple.Length).Select(i => tuple[i] as Tensor ?? throw NotATensor(tuple[i])).ToArray(),
            object[] objects => objects.Select(o => o as Tensor ?? throw NotATensor(o)).ToArray(),
            System.Collections.IList list => list.Cast<object>().Select(o => o as Tensor ?? throw NotATensor(o)).ToArray(),
            _ => throw NotATensor(result),
        };
    }

    private static FssdModelException NotATensor(object? value) => new(
        $"The TorchScript forward returned {value?.GetType().Name ?? "null"}; expected the logits or a tuple (logits, feature1, ..., featureK) of tensors.");

    public void Dispose() => _module.Dispose();
}
