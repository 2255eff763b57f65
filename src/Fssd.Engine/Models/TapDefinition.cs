using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// One tap: its name, which output of the network it reads (0 is the logits) and how it is reduced.
/// Scoring code reads these as data; it never branches on the architecture.
/// </summary>
public sealed record TapDefinition(string Name, int OutputIndex, TapReduction Reduction)
{
    /// <summary>Reduces a raw tap [B, ...] to one vector per input [B, D].</summary>
    public Tensor Reduce(Tensor raw) => Reduce(raw, Reduction);

    /// <summary>
    /// Reduces a raw tap [B, ...] to [B, D] with <paramref name="reduction"/>: a feature map [B, C, H, W] to its
    /// channels' spatial means or (population) standard deviations; anything else is flattened, except that a
    /// standard deviation needs a map.
    /// </summary>
    public static Tensor Reduce(Tensor raw, TapReduction reduction) => reduction switch
    {
        TapReduction.SpatialMean when raw.dim() > 2 => raw.flatten(2).mean(new long[] { 2 }),
        TapReduction.SpatialStd when raw.dim() > 2 => raw.flatten(2).std(2, unbiased: false),
        TapReduction.SpatialStd => throw new ArgumentException($"A spatial standard deviation needs a feature map [B, C, H, W]; this tap gives [{string.Join(", ", raw.shape)}].", nameof(raw)),
        _ => raw.flatten(1),
    };
}

/// <summary>A network's raw outputs: index 0 the logits, then its feature maps.</summary>
public interface ITappedNetwork : System.IDisposable
{
    /// <summary>The taps the architecture offers, in order.</summary>
    IReadOnlyList<TapDefinition> DefaultTaps { get; }

    /// <summary>Runs the network; element 0 is the logits.</summary>
    Tensor[] Forward(Tensor input);

    /// <summary>
    /// Output <paramref name="outputIndex"/> of <see cref="Forward"/>, computing no more of the network
    /// than it needs where the architecture knows its order (the default runs the whole network).
    /// </summary>
    Tensor ForwardUntil(Tensor input, int outputIndex)
    {
        using var scope = NewDisposeScope();
        return Forward(input)[outputIndex].MoveToOuterDisposeScope();
    }

    /// <summary>The module, for parameters, device moves and eval mode.</summary>
    nn.Module Module { get; }

    /// <summary>
    /// Called once after a model's weights are loaded and frozen, before it scores: the place for
    /// layout changes that keep the values (to float rounding) and make evaluation faster.
    /// </summary>
    void PrepareForInference()
    {
    }
}
