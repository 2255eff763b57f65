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
        Device device, ModelManifest manifest, Func<Architectures.BuiltInNetwork>? rebuild = null)
    {
        Info = info;
        Network = network;
        Taps = taps;
        Device = device;
        Manifest = manifest;
        _rebuild = rebuild;
    }

    private readonly Func<Architectures.BuiltInNetwork>? _rebuild;
    private readonly object _twinGate = new();
    private LoadedModel? _bfloat16;

    /// <summary>Whether <see cref="InPrecision"/> can give this model in bfloat16 (built-in architectures; not ONNX or TorchScript networks).</summary>
    public bool SupportsBFloat16 => _rebuild is not null;

    /// <summary>
    /// This model computing in <paramref name="precision"/>: itself for Float32; for BFloat16 a copy of the
    /// network with its weights converted, made on first use and kept until this model is freed (same taps,
    /// info and device; read its outputs as float32 where precision matters). Null where the network cannot
    /// be converted (see <see cref="SupportsBFloat16"/>). Using the copy needs <see cref="Use"/> on this model.
    /// </summary>
    public LoadedModel? InPrecision(FssdPrecision precision)
    {
        if (precision == FssdPrecision.Float32) return this;
        if (_rebuild is null) return null;
        lock (_twinGate)
        {
            if (_bfloat16 is not null) return _bfloat16;
            lock (_useGate)
                if (_retired) throw new FssdModelNotLoadedException($"The model '{Info.Name}' ({Info.SourcePath}) was removed from this session; import it again.");
            var twin = _rebuild();
            try
            {
                twin.Module.to(Device);
                twin.Module.load_state_dict(Network.Module.state_dict());
                twin.ToReducedPrecision(ScalarType.BFloat16);
                twin.Module.eval();
                foreach (var parameter in twin.Module.parameters()) parameter.requires_grad = false;
                twin.PrepareForInference();
            }
            catch
            {
                twin.Dispose();
                throw;
            }
            _bfloat16 = new LoadedModel(Info, twin, Taps, Device, Manifest);
            return _bfloat16;
        }
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
        if (now) FreeNetworks();
    }

    private void FreeNetworks()
    {
        Network.Dispose();
        lock (_twinGate)
        {
            _bfloat16?.Network.Dispose();
            _bfloat16 = null;
        }
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
        if (now) FreeNetworks();
    }

    private sealed class Usage : IDisposable
    {
        private LoadedModel? _model;

        public Usage(LoadedModel model) => _model = model;

        public void Dispose() => System.Threading.Interlocked.Exchange(ref _model, null)?.Release();
    }
}
