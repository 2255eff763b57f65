using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Fssd.Engine.Models.Architectures;

/// <summary>Where a ResNet's stem comes from: CIFAR (3×3, no max-pool, 32×32 inputs) or ImageNet (7×7, max-pool).</summary>
public enum ResNetStem
{
    Cifar,
    ImageNet,
}

/// <summary>
/// ResNet18/34 with torchvision's parameter names (conv1, bn1, layer1.0.conv1, ..., fc), so
/// torchvision checkpoints load unchanged. Taps: the stem, each of the four stages (spatial mean
/// per channel), the pooled penultimate features and the logits.
/// </summary>
public sealed class ResNet : BuiltInNetwork
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Linear fc;
    private readonly ResNetStem _stem;

    public static ResNet ResNet18(int classes, ResNetStem stem) => new("ResNet18", new[] { 2, 2, 2, 2 }, classes, stem);
    public static ResNet ResNet34(int classes, ResNetStem stem) => new("ResNet34", new[] { 3, 4, 6, 3 }, classes, stem);

    private ResNet(string name, int[] blocks, int classes, ResNetStem stem) : base(name)
    {
        _stem = stem;
        conv1 = stem == ResNetStem.Cifar
            ? Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false)
            : Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        int inplanes = 64;
        layer1 = MakeStage(ref inplanes, 64, blocks[0], 1);
        layer2 = MakeStage(ref inplanes, 128, blocks[1], 2);
        layer3 = MakeStage(ref inplanes, 256, blocks[2], 2);
        layer4 = MakeStage(ref inplanes, 512, blocks[3], 2);
        fc = Linear(512, classes);
        RegisterComponents();
    }

    /// <summary>conv1 stays float32 with the head: it reads the float32 input; its output is cast for bn1.</summary>
    public override void ToReducedPrecision(ScalarType dtype)
    {
        base.ToReducedPrecision(dtype);
        conv1.to(ScalarType.Float32);
    }

    public static IReadOnlyList<TapDefinition> Taps { get; } = new[]
    {
        new TapDefinition("stem", 1, TapReduction.SpatialMean),
        new TapDefinition("layer1", 2, TapReduction.SpatialMean),
        new TapDefinition("layer2", 3, TapReduction.SpatialMean),
        new TapDefinition("layer3", 4, TapReduction.SpatialMean),
        new TapDefinition("layer4", 5, TapReduction.SpatialMean),
        new TapDefinition("penultimate", 6, TapReduction.Flatten),
        new TapDefinition("logits", 0, TapReduction.Flatten),
    };

    public override IReadOnlyList<TapDefinition> DefaultTaps => Taps;

    public ResNetStem Stem => _stem;

    private static Sequential MakeStage(ref int inplanes, int planes, int blocks, int stride)
    {
        var list = new List<(string, Module<Tensor, Tensor>)> { ("0", new BasicBlock(inplanes, planes, stride)) };
        inplanes = planes;
        for (int i = 1; i < blocks; i++) list.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), new BasicBlock(planes, planes, 1)));
        return Sequential(list);
    }

    public override Tensor[] forward(Tensor input)
    {
        using var c = conv1.forward(input);
        using var cCast = CastFor(c, bn1.weight!);
        using var b = bn1.forward(cCast ?? c);
        Tensor stem = functional.relu(b);
        if (_stem == ResNetStem.ImageNet)
        {
            using var relu = stem;
            stem = functional.max_pool2d(relu, 3, 2, 1);
        }
        var l1 = layer1.forward(stem);
        var l2 = layer2.forward(l1);
        var l3 = layer3.forward(l2);
        var l4 = layer4.forward(l3);
        var pooled = l4.mean(new long[] { 2, 3 });
        // A reduced-precision copy of the network keeps its fully connected head in float32.
        using var converted = CastFor(pooled, fc.weight!);
        var logits = fc.forward(converted ?? pooled);
        return new[] { logits, stem, l1, l2, l3, l4, pooled };
    }

    /// <summary>torchvision's BasicBlock: two 3×3 convolutions with batch norm and a shortcut.</summary>
    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Sequential? downsample;

        public BasicBlock(int inplanes, int planes, int stride) : base(nameof(BasicBlock))
        {
            conv1 = Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(planes);
            conv2 = Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
            bn2 = BatchNorm2d(planes);
            if (stride != 1 || inplanes != planes)
                downsample = Sequential(("0", Conv2d(inplanes, planes, 1, stride: stride, bias: false)), ("1", BatchNorm2d(planes)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var identity = downsample is null ? x : downsample.forward(x);
            var outp = functional.relu(bn1.forward(conv1.forward(x)));
            outp = bn2.forward(conv2.forward(outp));
            return functional.relu(outp.add(identity, Runtime.HeldScalars.One)).MoveToOuterDisposeScope();
        }
    }
}
