using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// A network whose first layer is affine in the input, s = A·x + b (a convolution or a linear layer),
/// and which can run from that layer's output on. Input gradients then come from backward passes that
/// stop at s; Aᵀ, applied once to the gradients of every objective together, takes them the last step
/// to the input. The network's outputs and gradients are the same as from the input (to float rounding).
/// </summary>
public interface IAffineStemNetwork
{
    /// <summary>s = A·x + b for a normalized input batch.</summary>
    Tensor Stem(Tensor input);

    /// <summary>The outputs of <see cref="ITappedNetwork.Forward"/> for the input whose stem is <paramref name="stem"/>.</summary>
    Tensor[] ForwardFromStem(Tensor stem);

    /// <summary>Aᵀ·g: gradients with respect to the stem's output [N, ...] taken to the input [N, C, H, W].</summary>
    Tensor StemAdjoint(Tensor gradient);
}

/// <summary>
/// One forward pass kept for backward passes: the network's raw outputs (see
/// <see cref="LoadedModel.ForwardRaw"/>) and the gradients of scalar objectives of them with respect to
/// the input. Built by <see cref="LoadedModel.ForwardForGradients"/> inside enable_grad; its tensors
/// belong to the caller's dispose scope. The model's parameters are frozen, so a backward pass computes
/// input gradients only.
/// </summary>
public sealed class InputGradientPass : IDisposable
{
    private readonly Tensor _leaf;
    private readonly Func<Tensor, Tensor>? _adjoint;
    private readonly long[] _inputShape;

    internal InputGradientPass(Tensor leaf, ModelOutput output, Func<Tensor, Tensor>? adjoint, long[] inputShape)
    {
        _leaf = leaf;
        Output = output;
        _adjoint = adjoint;
        _inputShape = inputShape;
    }

    /// <summary>The logits and each tap's raw output.</summary>
    public ModelOutput Output { get; }

    /// <summary>
    /// ∇ₓ of each objective (a scalar computed from <see cref="Output"/>), in order: one backward pass
    /// each, the graph kept until the last. An objective that does not depend on the input (a tap a
    /// network computes from constants) has a zero gradient.
    /// </summary>
    public Tensor[] Gradients(IReadOnlyList<Tensor> objectives)
    {
        var live = Enumerable.Range(0, objectives.Count).Where(j => objectives[j].requires_grad).ToList();
        var gradients = new Tensor[objectives.Count];
        foreach (int j in live)
            gradients[j] = autograd.grad(new[] { objectives[j] }, new[] { _leaf }, retain_graph: j != live[^1])[0];
        if (_adjoint is not null && live.Count > 0)
        {
            // Aᵀ once for every objective: one larger product instead of one per objective.
            using var stacked = live.Count == 1 ? gradients[live[0]].alias() : cat(live.Select(j => gradients[j]).ToArray(), 0);
            foreach (int j in live) gradients[j].Dispose();
            var all = _adjoint(stacked);
            long b = _inputShape[0];
            for (int k = 0; k < live.Count; k++) gradients[live[k]] = all.narrow(0, k * b, b);
        }
        for (int j = 0; j < gradients.Length; j++)
            gradients[j] ??= zeros(_inputShape, dtype: _leaf.dtype, device: _leaf.device);
        return gradients;
    }

    public void Dispose()
    {
        Output.Dispose();
        _leaf.Dispose();
    }
}
