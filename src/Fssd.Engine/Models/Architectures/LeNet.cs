using System.Collections.Generic;
using Fssd.Engine.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Fssd.Engine.Models.Architectures;

/// <summary>
/// The network of PyTorch's MNIST example, which the paper's authors trained on FashionMNIST:
/// conv1 1→32 3×3, ReLU; conv2 32→64 3×3, ReLU; 2×2 max-pool; dropout 0.25; fc1 9216→128, ReLU;
/// dropout 0.5; fc2 128→10. Parameter names match that example, so its state_dict loads unchanged.
/// Taps, as the authors take them: conv1, conv2 and fc1 after their ReLU, and the logits.
/// </summary>
public sealed class LeNet : BuiltInNetwork, IAffineStemNetwork
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Dropout dropout1;
    private readonly Dropout dropout2;
    private readonly Linear fc1;
    private readonly Linear fc2;

    public LeNet(int classes = 10) : base(nameof(LeNet))
    {
        conv1 = Conv2d(1, 32, 3, stride: 1);
        conv2 = Conv2d(32, 64, 3, stride: 1);
        dropout1 = Dropout(0.25);
        dropout2 = Dropout(0.5);
        fc1 = Linear(9216, 128);
        fc2 = Linear(128, classes);
        RegisterComponents();
    }

    public static IReadOnlyList<TapDefinition> Taps { get; } = new[]
    {
        new TapDefinition("conv1", 1, TapReduction.Flatten),
        new TapDefinition("conv2", 2, TapReduction.Flatten),
        new TapDefinition("fc1", 3, TapReduction.Flatten),
        new TapDefinition("logits", 0, TapReduction.Flatten),
    };

    public override IReadOnlyList<TapDefinition> DefaultTaps => Taps;

    /// <summary>conv1 and conv2 need only the layers up to them; fc1 and the logits need (almost) all.</summary>
    public override Tensor ForwardUntil(Tensor input, int outputIndex)
    {
        if (outputIndex == 1)
        {
            using var c1 = Conv1(input);
            return functional.relu(c1);
        }
        if (outputIndex == 2)
        {
            using var c1 = Conv1(input);
            using var t1 = functional.relu(c1);
            using var t1Cast = CastFor(t1, Conv2Weight);
            using var c2 = functional.conv2d(t1Cast ?? t1, Conv2Weight, conv2.bias);
            return functional.relu(c2);
        }
        return base.ForwardUntil(input, outputIndex);
    }

    /// <summary>conv1 stays float32 with the fully connected layers: it reads the float32 input, and costs a tenth of conv2.</summary>
    public override void ToReducedPrecision(ScalarType dtype)
    {
        base.ToReducedPrecision(dtype);
        conv1.to(ScalarType.Float32);
    }

    /// <summary>
    /// Channels-last copies of the convolution weights, used in place of the parameters: oneDNN computes
    /// both convolutions in NHWC and the 2×2 max-pool takes libtorch's vectorized channels-last kernel (its
    /// NCHW kernel is scalar and costs more than conv2 itself). The one-channel input enters conv1 with
    /// channels-last strides (the same memory), so conv1 writes its map channels-last without a reorder,
    /// and fc1 reads the pooled channels-last map in place through a copy of its weight whose columns are
    /// in (h, w, c) order. The taps keep their [B, C, H, W] shape and meaning, only their strides change;
    /// the parameters (state_dict, saving, export) are untouched. Outputs agree with the plain network to
    /// float rounding (xunit); the measurements are in docs/design-notes.md.
    /// </summary>
    public override void PrepareForInference()
    {
        using var noGrad = no_grad();
        ReleaseInferenceWeights();
        using var conv1Weight = conv1.weight!.detach();
        using var conv2Weight = conv2.weight!.detach();
        using var fc1Weight = fc1.weight!.detach();
        _conv1ChannelsLast = MemoryLayout.ToChannelsLast(conv1Weight).DetachFromDisposeScope();
        _conv2ChannelsLast = MemoryLayout.ToChannelsLast(conv2Weight).DetachFromDisposeScope();
        // fc1's columns are the pooled map [64, 12, 12] flattened; reordered as [12, 12, 64].
        long channels = conv2Weight.shape[0], side = (long)System.Math.Sqrt(fc1Weight.shape[1] / channels);
        using var byMap = fc1Weight.view(fc1Weight.shape[0], channels, side, side);
        using var byPixel = byMap.permute(0, 2, 3, 1);
        _fc1PixelMajor = byPixel.reshape(fc1Weight.shape[0], -1).DetachFromDisposeScope();
    }

    private Tensor? _conv1ChannelsLast;
    private Tensor? _conv2ChannelsLast;
    private Tensor? _fc1PixelMajor;

    private Tensor Conv1(Tensor input)
    {
        if (_conv1ChannelsLast is null) return conv1.forward(input);
        using var channelsLast = MemoryLayout.OneChannelAsChannelsLast(input);
        return functional.conv2d(channelsLast ?? input, _conv1ChannelsLast, conv1.bias);
    }

    /// <summary>fc1 of the pooled map: read in place through the (h, w, c)-ordered weight where the map is channels-last.</summary>
    private Tensor Fc1(Tensor pooled)
    {
        // A reduced-precision copy of the network keeps its fully connected layers in float32.
        using var converted = CastFor(pooled, fc1.weight!);
        pooled = converted ?? pooled;
        if (_fc1PixelMajor is null || !MemoryLayout.IsChannelsLast(pooled))
        {
            using var flat = pooled.flatten(1);
            return fc1.forward(flat);
        }
        using var nhwc = pooled.permute(0, 2, 3, 1);
        using var pixels = nhwc.flatten(1);
        return functional.linear(pixels, _fc1PixelMajor, fc1.bias);
    }

    /// <summary>conv2's weights for inference: the channels-last copy once prepared, else the parameter.</summary>
    private Tensor Conv2Weight => _conv2ChannelsLast ?? conv2.weight!;

    private void ReleaseInferenceWeights()
    {
        _conv1ChannelsLast?.Dispose();
        _conv2ChannelsLast?.Dispose();
        _fc1PixelMajor?.Dispose();
        _conv1ChannelsLast = _conv2ChannelsLast = _fc1PixelMajor = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseInferenceWeights();
        base.Dispose(disposing);
    }

    public override Tensor[] forward(Tensor input)
    {
        using var c1 = Conv1(input);
        return FromConv1(c1);
    }

    /// <summary>conv1 is the stem: s = conv1(x), the input gradient's last step is conv1ᵀ.</summary>
    public Tensor Stem(Tensor input) => functional.conv2d(input, conv1.weight!, conv1.bias);

    /// <summary>
    /// The network from conv1's output on, for input-gradient passes. conv2 reads its weights in NCHW order
    /// here, as PyTorch does for the authors' NCHW network: the gradient's path through the max-pool's exact
    /// ties follows conv2's rounding, and computing conv2 as the reference does keeps the perturbed scores in
    /// agreement with it. The pool's window maxima come from the channels-last kernel (<see cref="GatherPool"/>).
    /// </summary>
    public Tensor[] ForwardFromStem(Tensor stem) => FromConv1(stem, gradientPass: true);

    /// <summary>
    /// conv1ᵀ·g: the gradient with respect to conv1's output [N, 32, 26, 26] taken to the input
    /// [N, 1, 28, 28], as one matrix product (each output pixel's 32 channels times the 32×9 kernel
    /// matrix) and a fold of the 3×3 patches back onto the image: for this one-channel case a third of the
    /// time of libtorch's transposed convolution.
    /// </summary>
    public Tensor StemAdjoint(Tensor gradient)
    {
        var weight = conv1.weight!;
        long outChannels = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3];
        using var kernel = weight.view(outChannels, -1).t();
        using var flat = gradient.flatten(2);
        using var patches = kernel.matmul(flat);
        return functional.fold(patches, (gradient.shape[2] + kh - 1, gradient.shape[3] + kw - 1), (kh, kw));
    }

    /// <summary>
    /// The 2×2 max-pool of an NCHW map for a gradient pass: the window maxima are found by the
    /// channels-last kernel outside the graph (libtorch's NCHW kernel is scalar) and gathered in the
    /// graph, whose backward pass puts each gradient on the element the kernel picked, as max-pool's
    /// own backward pass does.
    /// </summary>
    private static Tensor GatherPool(Tensor map)
    {
        long b = map.shape[0], c = map.shape[1], h = map.shape[2] / 2, w = map.shape[3] / 2;
        Tensor flatIndices;
        using (no_grad())
        {
            using var detached = map.detach();
            using var channelsLast = MemoryLayout.ToChannelsLast(detached);
            var (maxima, indices) = functional.max_pool2d_with_indices(channelsLast, new long[] { 2, 2 });
            maxima.Dispose();
            using (indices) flatIndices = indices.contiguous().view(b, c, h * w);
        }
        using (flatIndices)
        using (var flat = map.flatten(2))
        using (var gathered = flat.gather(2, flatIndices))
            return gathered.view(b, c, h, w);
    }

    /// <summary>The network from conv1's output on; a gradient pass reads conv2's NCHW parameter and pools by gathering.</summary>
    private Tensor[] FromConv1(Tensor c1, bool gradientPass = false)
    {
        var conv2Weight = gradientPass ? conv2.weight! : Conv2Weight;
        var t1 = functional.relu(c1);
        using var t1Cast = CastFor(t1, conv2Weight);
        using var c2 = functional.conv2d(t1Cast ?? t1, conv2Weight, conv2.bias);
        var t2 = functional.relu(c2);
        using var pooled = gradientPass ? GatherPool(t2) : functional.max_pool2d(t2, 2);
        using var dropped = dropout1.forward(pooled);
        using var hidden = Fc1(dropped);
        var t3 = functional.relu(hidden);
        using var dropped2 = dropout2.forward(t3);
        var logits = fc2.forward(dropped2);
        return new[] { logits, t1, t2, t3 };
    }
}
