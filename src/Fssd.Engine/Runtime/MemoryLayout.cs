using static TorchSharp.torch;

namespace Fssd.Engine.Runtime;

/// <summary>
/// Memory-layout helpers for 4-d tensors [N, C, H, W]. TorchSharp exposes no memory-format API, so the
/// layout is read from and given by strides: channels-last is (H·W·C, 1, W·C, C).
/// </summary>
public static class MemoryLayout
{
    /// <summary>Whether a 4-d tensor is laid out channels-last and densely (its NHWC order is contiguous).</summary>
    public static bool IsChannelsLast(Tensor tensor)
    {
        if (tensor.dim() != 4) return false;
        long c = tensor.shape[1], h = tensor.shape[2], w = tensor.shape[3];
        var s = tensor.stride();
        return s[1] == 1 && s[3] == c && s[2] == w * c && s[0] == h * w * c;
    }

    /// <summary>
    /// A dense one-channel batch [N, 1, H, W] viewed with channels-last strides (H·W, 1, W, 1): the same
    /// memory, but libtorch then reads the batch as channels-last and a convolution with channels-last
    /// weights writes its output channels-last directly. Null where the tensor is not a dense
    /// one-channel batch (the caller keeps the tensor as it is).
    /// </summary>
    public static Tensor? OneChannelAsChannelsLast(Tensor tensor)
    {
        if (tensor.dim() != 4 || tensor.shape[1] != 1 || !tensor.is_contiguous()) return null;
        long h = tensor.shape[2], w = tensor.shape[3];
        return tensor.as_strided(tensor.shape, new[] { h * w, 1, w, 1 });
    }

    /// <summary>A copy of a 4-d tensor in channels-last order, with the same shape.</summary>
    public static Tensor ToChannelsLast(Tensor tensor)
    {
        using var nhwc = tensor.permute(0, 2, 3, 1);
        using var dense = nhwc.contiguous();
        return dense.permute(0, 3, 1, 2);
    }
}
