using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>How a dataset is stored.</summary>
public enum DatasetKind
{
    /// <summary>An IDX image file (the MNIST format) with an optional IDX label file.</summary>
    Idx,

    /// <summary>A folder with one subfolder of images per class (the "ImageFolder" layout).</summary>
    ImageFolder,

    /// <summary>Image files without labels: a folder or a listing.</summary>
    Files,
}

/// <summary>
/// A dataset the module can read: where it is, how it is stored, its classes and size. Returned by
/// Get-FssdDataset and Install-FssdDataset; read by Get-FssdSample, New-FssdClassifier and
/// Measure-FssdAccuracy. It describes the data; it does not hold it.
/// </summary>
public sealed class FssdDataset
{
    public string Name { get; init; } = "";

    /// <summary>train or test for the benchmark datasets; empty for datasets of your own.</summary>
    public string Split { get; init; } = "";

    public DatasetKind Kind { get; init; }

    /// <summary>How many samples are read (after <see cref="First"/>); for folders, how many image files were found.</summary>
    public int Count { get; init; }

    /// <summary>Class names by label; empty when the dataset has no labels.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = Array.Empty<string>();

    /// <summary>True when every sample has a label.</summary>
    public bool IsLabeled { get; init; }

    /// <summary>The IDX image file, the class-folder root, or the folder of unlabeled files.</summary>
    public string Path { get; init; } = "";

    /// <summary>The IDX label file, when there is one.</summary>
    public string? LabelPath { get; init; }

    /// <summary>The image files (folders and listings), in reading order; empty for IDX.</summary>
    public IReadOnlyList<string> Files { get; init; } = Array.Empty<string>();

    /// <summary>The label of each file in <see cref="Files"/> (ImageFolder only).</summary>
    public IReadOnlyList<int> FileLabels { get; init; } = Array.Empty<int>();

    /// <summary>Only the first this-many samples are read; null reads all.</summary>
    public int? First { get; init; }

    /// <summary>Where the data came from (Debian package, npm package, your folder).</summary>
    public string Origin { get; init; } = "";

    public override string ToString() => Split.Length > 0 ? $"{Name} ({Split}, {Count})" : $"{Name} ({Count})";
}

/// <summary>
/// One image of a dataset, decoded: its pixels (height × width × channels, bytes 0..255, row-major,
/// channels last) and its label. Returned by Get-FssdSample.
/// </summary>
public sealed class FssdSample
{
    public string Dataset { get; init; } = "";
    public int Index { get; init; }

    /// <summary>The class index, or null when the dataset has no labels.</summary>
    public int? Label { get; init; }

    public string? ClassName { get; init; }

    /// <summary>The image file, when the sample came from one; null for IDX samples (named as on a FileInfo, so that it pipes literally into Move-Item).</summary>
    public string? FullName { get; init; }

    /// <summary>A readable origin: the file, or the IDX file and the index in it.</summary>
    public string Source { get; init; } = "";

    public int Height { get; init; }
    public int Width { get; init; }
    public int Channels { get; init; }

    /// <summary>Pixels, height × width × channels, channels last.</summary>
    public byte[] Pixels { get; init; } = Array.Empty<byte>();

    public override string ToString() => $"{Source} ({ClassName ?? "unlabeled"})";
}
