using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// The logits and the reduced taps [B, D_k] of one forward pass, in tap order. For a network without a
/// classifier head, Logits is its output (a feature), which nothing reads as class scores.
/// </summary>
public sealed class ModelOutput : IDisposable
{
    public ModelOutput(Tensor logits, IReadOnlyList<Tensor> features)
    {
        Logits = logits;
        Features = features;
    }

    public Tensor Logits { get; }
    public IReadOnlyList<Tensor> Features { get; }

    public void Dispose()
    {
        Logits.Dispose();
        foreach (var f in Features) f.Dispose();
    }
}

/// <summary>
/// A classifier in the session: the network on its device, in eval mode, with its taps, input spec
/// and class names. Cached by the session; <see cref="Info"/> is what users see.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(FssdModel info, ITappedNetwork network, IReadOnlyList<TapDefinition> taps,
        Device device, ModelManifest manifest)
    {
        Info = info;
        Network = network;
        Taps = taps;
        Device = device;
        Manifest = manifest;
    }

    public FssdModel Info { get; }
    public ITappedNetwork Network { get; }
    public IReadOnlyList<TapDefinition> Taps { get; }
    public Device Device { get; }

    /// <summary>The manifest with every default filled in (what Export-FssdModel writes).</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Runs the network on a normalized input batch [B, C, H, W] on this model's device.</summary>
    public ModelOutput Forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var outputs = Network.Forward(input);
        var features = Taps.Select(t => t.Reduce(outputs[t.OutputIndex])).ToArray();
        var result = new ModelOutput(outputs[0].alias(), features);
        result.Logits.MoveToOuterDisposeScope();
        foreach (var f in features) f.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// The logits and each tap's raw output (not reduced: [B, C, H, W] for a feature map, in whatever
    /// memory layout the network produced), for scoring code that reduces them itself.
    /// </summary>
    public ModelOutput ForwardRaw(Tensor input)
    {
        using var scope = NewDisposeScope();
        var outputs = Network.Forward(input);
        var raw = Taps.Select(t => outputs[t.OutputIndex].alias()).ToArray();
        var result = new ModelOutput(outputs[0].alias(), raw);
        result.Logits.MoveToOuterDisposeScope();
        foreach (var f in raw) f.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// A forward pass for input gradients (call inside enable_grad): <see cref="ForwardRaw"/>'s outputs
    /// and the gradients of objectives of them with respect to <paramref name="input"/>. A network with
    /// an affine first layer (<see cref="IAffineStemNetwork"/>) runs that layer outside the graph and
    /// takes every objective's gradient through it in one product; others backpropagate to the input.
    /// </summary>
    public InputGradientPass ForwardForGradients(Tensor input)
    {
        var shape = input.shape;
        if (Network is IAffineStemNetwork stemmed)
        {
            Tensor stem;
            using (no_grad()) stem = stemmed.Stem(input);
            stem.requires_grad_(true);
            var outputs = stemmed.ForwardFromStem(stem);
            return new InputGradientPass(stem, Select(outputs), stemmed.StemAdjoint, shape);
        }
        var x = input.detach().requires_grad_(true);
        return new InputGradientPass(x, ForwardRaw(x), null, shape);
    }

    private ModelOutput Select(Tensor[] outputs)
    {
        var raw = Taps.Select(t => outputs[t.OutputIndex].alias()).ToArray();
        var result = new ModelOutput(outputs[0].alias(), raw);
        foreach (var o in outputs) o.Dispose();
        return result;
    }

    /// <summary>One tap's raw output (see <see cref="ForwardRaw"/>), computing no more of the network than it needs.</summary>
    public Tensor ForwardTapRaw(Tensor input, int tap)
    {
        using var scope = NewDisposeScope();
        return Network.ForwardUntil(input, Taps[tap].OutputIndex).alias().MoveToOuterDisposeScope();
    }

    /// <summary>One tap's features, computing no more of the network than the tap needs where the architecture allows.</summary>
    public Tensor ForwardTap(Tensor input, int tap)
    {
        using var scope = NewDisposeScope();
        var raw = Network.ForwardUntil(input, Taps[tap].OutputIndex);
        return Taps[tap].Reduce(raw).MoveToOuterDisposeScope();
    }

    /// <summary>Throws when the network has no classifier head: <paramref name="purpose"/> says what needed its classes.</summary>
    public void RequireClassifier(string purpose)
    {
        if (!Info.HasClassifier)
            throw new FssdNoClassifierException(
                $"The model '{Info.Name}' has no classifier head (its output is a feature, not class logits), so it cannot give {purpose}. FSSD scores it all the same: Measure-Fssd and New-FssdDetector read its layers.");
    }

    public int TapIndex(string name)
    {
        for (int i = 0; i < Taps.Count; i++)
            if (Taps[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase)) return i;
        throw new FssdTapNotFoundException(name,
            $"The model '{Info.Name}' has no tap '{name}'; its taps are {string.Join(", ", Taps.Select(t => t.Name))}.");
    }

    private readonly object _useGate = new();
    private int _users;
    private bool _retired;
    private bool _disposed;

    /// <summary>
    /// Marks the model in use until the returned handle is disposed: a model removed from the session while
    /// a scorer runs on it is freed when the last user is done, never under it. A model removed already is an error.
    /// </summary>
    public IDisposable Use()
    {
        lock (_useGate)
        {
            if (_retired) throw new FssdModelNotLoadedException($"The model '{Info.Name}' ({Info.SourcePath}) was removed from this session; import it again.");
            _users++;
        }
        return new Usage(this);
    }

    /// <summary>Whether the model was removed from the session (it may still be finishing a scorer's work).</summary>
    public bool IsRemoved
    {
        get { lock (_useGate) return _retired; }
    }

    /// <summary>Frees the network now, or when the last user is done.</summary>
    public void Dispose()
    {
        bool now;
        lock (_useGate)
        {
            _retired = true;
            now = _users == 0 && !_disposed;
            if (now) _disposed = true;
        }
        if (now) Network.Dispose();
    }

    private void Release()
    {
        bool now;
        lock (_useGate)
        {
            _users--;
            now = _retired && _users == 0 && !_disposed;
            if (now) _disposed = true;
        }
        if (now) Network.Dispose();
    }

    private sealed class Usage : IDisposable
    {
        private LoadedModel? _model;

        public Usage(LoadedModel model) => _model = model;

        public void Dispose() => System.Threading.Interlocked.Exchange(ref _model, null)?.Release();
    }
}
