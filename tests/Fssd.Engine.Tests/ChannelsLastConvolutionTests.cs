using Fssd.Engine.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>
/// The convolutions an imported ONNX network runs channels-last on the CPU (kernels of at least 2 × 2, one
/// group, no dilation) agree with the plain layout, including the wide layers whose 1 × 1 kernels libtorch
/// gets wrong in that layout (which is why 1 × 1 convolutions stay in the plain layout).
/// </summary>
public class ChannelsLastConvolutionTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(7, 2)]
    public void Channels_last_convolutions_agree_with_the_plain_layout(int kernel, int stride)
    {
        _ = FssdSession.Current;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var generator = new Generator(7);
        foreach (int outputs in new[] { 64, 512, 1024 })
        foreach (int inputs in new[] { 3, 256 })
        {
            var x = rand(new long[] { 2, inputs, 8, 8 }, generator: generator);
            var w = randn(new long[] { outputs, inputs, kernel, kernel }, generator: generator);
            var padding = new long[] { kernel / 2, kernel / 2 };
            var strides = new long[] { stride, stride };
            var plain = nn.functional.conv2d(x, w, null, strides, padding);
            var channelsLast = nn.functional.conv2d(MemoryLayout.ToChannelsLast(x), MemoryLayout.ToChannelsLast(w), null, strides, padding);
            Assert.True(MemoryLayout.IsChannelsLast(channelsLast));
            double scale = System.Math.Max(1, plain.abs().max().item<float>());
            double difference = (channelsLast - plain).abs().max().item<float>() / scale;
            Assert.True(difference <= 1e-5, $"{kernel}x{kernel} stride {stride}, {inputs} -> {outputs} channels: differs by {difference:E2}");
        }
    }
}
