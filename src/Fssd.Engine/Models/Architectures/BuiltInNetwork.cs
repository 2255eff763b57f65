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

    /// <inheritdoc cref="ITappedNetwork.ForwardUntil"/>
    public virtual Tensor ForwardUntil(Tensor input, int outputIndex)
    {
        using var scope = NewDisposeScope();
        return forward(input)[outputIndex].MoveToOuterDisposeScope();
    }
}
