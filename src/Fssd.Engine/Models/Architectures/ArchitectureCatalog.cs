using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Models.Architectures;

/// <summary>The architectures the module knows, and their default input specs (the paper's setups).</summary>
public static class ArchitectureCatalog
{
    public const string LeNet = "LeNet";
    public const string ResNet18 = "ResNet18";
    public const string ResNet34 = "ResNet34";
    public const string TorchScript = "TorchScript";
    public const string Onnx = "Onnx";

    public static IReadOnlyList<string> Names { get; } = new[] { LeNet, ResNet18, ResNet34, TorchScript, Onnx };

    public static bool IsKnown(string name) => Names.Any(n => n.Equals(name, StringComparison.OrdinalIgnoreCase));

    public static string Canonical(string name) =>
        Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FssdModelException($"'{name}' is not an architecture: use one of {string.Join(", ", Names)}.");

    /// <summary>FashionMNIST's pixel mean and std, as the authors normalized LeNet's input.</summary>
    public static readonly double[] FashionMnistMean = { 0.2860 };
    public static readonly double[] FashionMnistStd = { 0.3530 };

    /// <summary>CIFAR-10's per-channel mean and std.</summary>
    public static readonly double[] CifarMean = { 0.4914, 0.4822, 0.4465 };
    public static readonly double[] CifarStd = { 0.2470, 0.2435, 0.2616 };

    /// <summary>ImageNet's per-channel mean and std (torchvision).</summary>
    public static readonly double[] ImageNetMean = { 0.485, 0.456, 0.406 };
    public static readonly double[] ImageNetStd = { 0.229, 0.224, 0.225 };

    public static FssdInputSpec DefaultInput(string architecture, ResNetStem stem) => Canonical(architecture) switch
    {
        LeNet => new FssdInputSpec
        {
            Channels = 1, Height = 28, Width = 28, ColorMode = ColorMode.Gray,
            ValueRange = new[] { 0.0, 1.0 }, Mean = FashionMnistMean, Std = FashionMnistStd,
        },
        ResNet18 or ResNet34 when stem == ResNetStem.Cifar => new FssdInputSpec
        {
            Channels = 3, Height = 32, Width = 32, ColorMode = ColorMode.Rgb,
            ValueRange = new[] { 0.0, 1.0 }, Mean = CifarMean, Std = CifarStd,
        },
        ResNet18 or ResNet34 => new FssdInputSpec
        {
            Channels = 3, Height = 224, Width = 224, ColorMode = ColorMode.Rgb,
            ValueRange = new[] { 0.0, 1.0 }, Mean = ImageNetMean, Std = ImageNetStd,
        },
        _ => new FssdInputSpec
        {
            Channels = 3, Height = 224, Width = 224, ColorMode = ColorMode.Rgb,
            ValueRange = new[] { 0.0, 1.0 }, Mean = new[] { 0.0, 0.0, 0.0 }, Std = new[] { 1.0, 1.0, 1.0 },
        },
    };
}
