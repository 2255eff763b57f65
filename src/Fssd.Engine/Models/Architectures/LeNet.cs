using System.Collections.Generic;
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
public sealed class LeNet : BuiltInNetwork
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
        if (outputIndex == 1) return functional.relu(conv1.forward(input));
        if (outputIndex == 2)
        {
            using var t1 = functional.relu(conv1.forward(input));
            return functional.relu(conv2.forward(t1));
        }
        return base.ForwardUntil(input, outputIndex);
    }

    public override Tensor[] forward(Tensor input)
    {
        var t1 = functional.relu(conv1.forward(input));
        var t2 = functional.relu(conv2.forward(t1));
        using var pooled = functional.max_pool2d(t2, 2);
        using var dropped = dropout1.forward(pooled);
        using var flat = dropped.flatten(1);
        using var hidden = fc1.forward(flat);
        var t3 = functional.relu(hidden);
        using var dropped2 = dropout2.forward(t3);
        var logits = fc2.forward(dropped2);
        return new[] { logits, t1, t2, t3 };
    }
}
