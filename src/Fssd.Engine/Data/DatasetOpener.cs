using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>Describes datasets found on disk: IDX files, class folders, unlabeled folders and file listings.</summary>
public static class DatasetOpener
{
    /// <summary>The image file extensions read from folders (case-insensitive).</summary>
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>(new[] { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ico" }, StringComparer.OrdinalIgnoreCase);

    public static bool IsImageFile(string path) => ImageExtensions.Contains(Path.GetExtension(path));

    /// <summary>
    /// A folder with class subfolders becomes an ImageFolder dataset (classes are the subfolder names,
    /// sorted ordinally, as torchvision sorts them); a folder of images an unlabeled one; an IDX image
    /// file an IDX dataset (its labels taken from <paramref name="labelPath"/>, or the sibling file
    /// named like it with labels-idx1 for images-idx3).
    /// </summary>
    public static FssdDataset Open(string path, string? labelPath = null, IReadOnlyList<string>? classNames = null,
        string? name = null, int? first = null)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) return OpenFolder(full, classNames, name, first);
        if (!File.Exists(full)) throw new FssdDataException($"The dataset path '{full}' does not exist.");
        if (IsIdx(full)) return OpenIdx(full, labelPath, classNames, name, first);
        if (IsImageFile(full)) return FromFiles(new[] { full }, name, first);
        throw new FssdDataException(
            $"'{full}' is neither a folder, an IDX file nor an image ({string.Join(", ", ImageExtensions)}).");
    }

    public static FssdDataset OpenIdx(string imagesPath, string? labelPath, IReadOnlyList<string>? classNames,
        string? name, int? first, string split = "", string origin = "")
    {
        var images = IdxCache.Read(imagesPath);
        if (images.Shape.Length is not (3 or 4))
            throw new FssdDataException($"'{imagesPath}' holds IDX data of shape {string.Join("x", images.Shape)}; images are N x H x W (or N x H x W x C).");
        labelPath ??= SiblingLabels(imagesPath);
        int[]? labels = null;
        if (labelPath is not null)
        {
            var labelFile = IdxCache.Read(labelPath);
            if (labelFile.Shape.Length != 1)
                throw new FssdDataException($"'{labelPath}' holds IDX data of shape {string.Join("x", labelFile.Shape)}; labels are one number per image.");
            if (labelFile.Count != images.Count)
                throw new FssdDataException($"'{labelPath}' holds {labelFile.Count} labels but '{imagesPath}' holds {images.Count} images.");
            labels = labelFile.Data.Select(b => (int)b).ToArray();
        }
        IReadOnlyList<string> names = classNames
            ?? (labels is null ? Array.Empty<string>() : Enumerable.Range(0, labels.Max() + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        if (labels is not null) CheckLabels(labels, names.Count, labelPath!);
        int count = Math.Min(images.Count, first ?? int.MaxValue);
        return new FssdDataset
        {
            Name = name ?? StripIdxName(imagesPath),
            Split = split,
            Kind = DatasetKind.Idx,
            Count = count,
            ClassNames = names,
            IsLabeled = labels is not null,
            Path = imagesPath,
            LabelPath = labelPath,
            First = first,
            Origin = origin.Length > 0 ? origin : imagesPath,
        };
    }

    public static FssdDataset FromFiles(IReadOnlyList<string> files, string? name, int? first)
    {
        if (files.Count == 0) throw new FssdDataException("The file listing is empty.");
        var full = files.Select(Path.GetFullPath).ToList();
        int count = Math.Min(full.Count, first ?? int.MaxValue);
        return new FssdDataset
        {
            Name = name ?? "files",
            Kind = DatasetKind.Files,
            Count = count,
            Path = CommonDirectory(full),
            Files = full.Take(count).ToList(),
            First = first,
            Origin = "file listing",
        };
    }

    private static FssdDataset OpenFolder(string folder, IReadOnlyList<string>? classNames, string? name, int? first)
    {
        var subfolders = Directory.GetDirectories(folder).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToList();
        var loose = Directory.GetFiles(folder).Where(IsImageFile).OrderBy(f => f, StringComparer.Ordinal).ToList();
        string datasetName = name ?? Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (subfolders.Count == 0 || (loose.Count > 0 && !subfolders.Any(ContainsImages)))
        {
            if (loose.Count == 0) throw new FssdDataException($"The folder '{folder}' holds no images ({string.Join(", ", ImageExtensions)}) and no class folders.");
            var files = FromFiles(loose, datasetName, first);
            return new FssdDataset
            {
                Name = files.Name, Kind = DatasetKind.Files, Count = files.Count, Path = folder, Files = files.Files,
                First = first, Origin = folder,
            };
        }
        if (loose.Count > 0)
            throw new FssdDataException(
                $"The folder '{folder}' mixes class folders with loose images ({Path.GetFileName(loose[0])}, ...); put every image in its class folder.");
        var names = subfolders.Select(Path.GetFileName).ToList();
        if (classNames is not null && !classNames.SequenceEqual(names!, StringComparer.Ordinal))
            throw new FssdDataException(
                $"The class folders of '{folder}' are {string.Join(", ", names)}, not the class names given ({string.Join(", ", classNames)}).");
        var allFiles = new List<string>();
        var fileLabels = new List<int>();
        for (int label = 0; label < subfolders.Count; label++)
        {
            var images = Directory.GetFiles(subfolders[label]).Where(IsImageFile).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (images.Count == 0)
                throw new FssdDataException($"The class folder '{subfolders[label]}' holds no images ({string.Join(", ", ImageExtensions)}); every class needs at least one.");
            allFiles.AddRange(images);
            fileLabels.AddRange(Enumerable.Repeat(label, images.Count));
        }
        int count = Math.Min(allFiles.Count, first ?? int.MaxValue);
        return new FssdDataset
        {
            Name = datasetName,
            Kind = DatasetKind.ImageFolder,
            Count = count,
            ClassNames = names!,
            IsLabeled = true,
            Path = folder,
            Files = allFiles.Take(count).ToList(),
            FileLabels = fileLabels.Take(count).ToList(),
            First = first,
            Origin = folder,
        };
    }

    private static bool ContainsImages(string folder) => Directory.EnumerateFiles(folder).Any(IsImageFile);

    internal static void CheckLabels(int[] labels, int classCount, string source)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classCount)
                throw new FssdDataException(
                    $"'{source}': label {labels[i]} at index {i} is out of range for {classCount} classes (0..{classCount - 1}).");
        }
    }

    private static bool IsIdx(string path)
    {
        string lower = Path.GetFileName(path).ToLowerInvariant();
        if (lower.Contains("-idx") || lower.EndsWith(".idx", StringComparison.Ordinal)) return true;
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        if (file.Read(head) < 4) return false;
        return head[0] == 0 && head[1] == 0 && head[2] == 0x08;
    }

    private static string? SiblingLabels(string imagesPath)
    {
        string file = Path.GetFileName(imagesPath);
        if (!file.Contains("images-idx3", StringComparison.Ordinal)) return null;
        string candidate = Path.Combine(Path.GetDirectoryName(imagesPath)!, file.Replace("images-idx3", "labels-idx1", StringComparison.Ordinal));
        return File.Exists(candidate) ? candidate : null;
    }

    private static string StripIdxName(string path)
    {
        string file = Path.GetFileName(path);
        int cut = file.IndexOf("-images", StringComparison.Ordinal);
        return cut > 0 ? file[..cut] : Path.GetFileNameWithoutExtension(file);
    }

    private static string CommonDirectory(IReadOnlyList<string> files)
    {
        string common = Path.GetDirectoryName(files[0]) ?? "";
        foreach (var f in files)
        {
            while (common.Length > 0 && !(Path.GetDirectoryName(f) ?? "").StartsWith(common, StringComparison.Ordinal))
                common = Path.GetDirectoryName(common) ?? "";
        }
        return common;
    }
}

/// <summary>
/// The IDX files read in this process, keyed by path, length and time written: a dataset opened to
/// describe it is not parsed again when its samples are read a moment later. Holds a few files.
/// </summary>
internal static class IdxCache
{
    private const int Capacity = 6;
    private static readonly object Gate = new();
    private static readonly Dictionary<string, IdxFile> Files = new();
    private static readonly LinkedList<string> Order = new();

    public static void Remember(string path, IdxFile file)
    {
        string key = Key(path);
        lock (Gate)
        {
            if (Files.ContainsKey(key)) Order.Remove(key);
            Files[key] = file;
            Order.AddFirst(key);
            while (Order.Count > Capacity)
            {
                Files.Remove(Order.Last!.Value);
                Order.RemoveLast();
            }
        }
    }

    public static IdxFile Read(string path)
    {
        string key = Key(path);
        lock (Gate)
        {
            if (Files.TryGetValue(key, out var cached)) return cached;
        }
        var file = IdxFile.Read(path);
        Remember(path, file);
        return file;
    }

    private static string Key(string path)
    {
        var info = new FileInfo(path);
        return $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}";
    }
}
