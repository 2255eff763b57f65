using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models.Architectures;

/// <summary>A network defined in the engine: a TorchSharp module whose forward returns logits then taps.</summary>
public abstract class BuiltInNetwork : nn.Module<Tensor, Tensor[]>, ITappedNetwork
{
    protected BuiltInNetwork(string name) : base(name)
    {
    }

    public abstract IReadOnlyList<TapDefinition> DefaultTaps { get; }

    public nn.Module Module => this;

    public Tensor[] Forward(Tensor input) => forward(input);

    /// <inheritdoc cref="ITappedNetwork.PrepareForInference"/>
    public virtual void PrepareForInference()
    {
    }

    /// <summary>
    /// Converts this network (a copy made for the purpose) to <paramref name="dtype"/> for forward passes in
    /// reduced precision: the convolutions and batch norms, where the time goes. The first layer keeps
    /// reading float32 inputs and the fully connected layers stay float32 (both cost little; an input
    /// rounded to 8 significant bits loses more than a pixel's step); the network casts at the boundaries.
    /// </summary>
    public virtual void ToReducedPrecision(ScalarType dtype)
    {
        this.to(dtype);
        foreach (var module in modules())
            if (module is TorchSharp.Modules.Linear) module.to(ScalarType.Float32);
    }

    /// <summary><paramref name="input"/> in the dtype of <paramref name="weight"/>, or null where it is already.</summary>
    protected static Tensor? CastFor(Tensor input, Tensor weight) => input.dtype == weight.dtype ? null : input.to_type(weight.dtype);

    /// <inheritdoc cref="ITappedNetwork.ForwardUntil"/>
    public virtual Tensor ForwardUntil(Tensor input, int outputIndex)
    {
        using var scope = NewDisposeScope();
        return forward(input)[outputIndex].MoveToOuterDisposeScope();
    }
}
