using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Fssd.Engine.Data;

/// <summary>One sample read from a dataset, or why it could not be read.</summary>
public sealed record DatasetItem(FssdSample? Sample, FssdDataException? Error, string Source);

/// <summary>
/// A dataset decoded into memory for training or evaluation: bytes N × C × H × W (channels first,
/// ready for a tensor), labels, and the source of each sample.
/// </summary>
public sealed class ImageSet
{
    public ImageSet(string name, byte[] pixels, int[]? labels, int count, int channels, int height, int width,
        IReadOnlyList<string> classNames, IReadOnlyList<string> sources, int skipped)
    {
        Name = name;
        Pixels = pixels;
        Labels = labels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        Sources = sources;
        Skipped = skipped;
    }

    public string Name { get; }
    public byte[] Pixels { get; }
    public int[]? Labels { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<string> Sources { get; }

    /// <summary>Samples left out because they could not be decoded.</summary>
    public int Skipped { get; }

    public int SampleSize => Channels * Height * Width;

    /// <summary>The samples at <paramref name="indices"/>, in that order.</summary>
    public ImageSet Subset(IReadOnlyList<int> indices, string name)
    {
        int size = SampleSize;
        var pixels = new byte[indices.Count * size];
        var labels = Labels is null ? null : new int[indices.Count];
        var sources = new string[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Array.Copy(Pixels, (long)indices[i] * size, pixels, (long)i * size, size);
            if (labels is not null) labels[i] = Labels![indices[i]];
            sources[i] = Sources[indices[i]];
        }
        return new ImageSet(name, pixels, labels, indices.Count, Channels, Height, Width, ClassNames, sources, 0);
    }
}

/// <summary>Reads the samples of a <see cref="FssdDataset"/>: streamed one by one, or all into memory.</summary>
public static class DatasetReader
{
    /// <summary>
    /// Streams samples in dataset order. An image that cannot be decoded comes as an item with an
    /// error (naming the file) and reading goes on.
    /// </summary>
    /// <param name="channels">0 keeps each image's own channels; 1 or 3 converts.</param>
    public static IEnumerable<DatasetItem> Read(FssdDataset dataset, int channels, CancellationToken cancellation)
    {
        if (dataset.Kind == DatasetKind.Idx)
        {
            var images = IdxCache.Read(dataset.Path);
            int[]? labels = dataset.LabelPath is null ? null : IdxCache.Read(dataset.LabelPath).Data.Select(b => (int)b).ToArray();
            int h = images.Shape[1], w = images.Shape[2], c = images.Shape.Length == 4 ? images.Shape[3] : 1;
            int size = h * w * c;
            string file = System.IO.Path.GetFileName(dataset.Path);
            for (int i = 0; i < dataset.Count; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                var raw = new RawImage(images.Data.AsSpan(i * size, size).ToArray(), h, w, c);
                if (channels != 0 && channels != c) raw = ConvertChannels(raw, channels);
                int? label = labels?[i];
                yield return new DatasetItem(new FssdSample
                {
                    Dataset = dataset.Name, Index = i, Label = label,
                    ClassName = label is int l && l < dataset.ClassNames.Count ? dataset.ClassNames[l] : null,
                    Source = $"{file}[{i}]", Height = raw.Height, Width = raw.Width, Channels = raw.Channels, Pixels = raw.Pixels,
                }, null, $"{file}[{i}]");
            }
            yield break;
        }
        for (int i = 0; i < dataset.Files.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            string path = dataset.Files[i];
            RawImage raw;
            FssdDataException? error = null;
            try
            {
                raw = ImageDecoder.Decode(path, channels, cancellation);
            }
            catch (FssdDataException e)
            {
                error = e;
                raw = default;
            }
            if (error is not null)
            {
                yield return new DatasetItem(null, error, path);
                continue;
            }
            int? label = dataset.Kind == DatasetKind.ImageFolder ? dataset.FileLabels[i] : null;
            yield return new DatasetItem(new FssdSample
            {
                Dataset = dataset.Name, Index = i, Label = label,
                ClassName = label is int l ? dataset.ClassNames[l] : null,
                FullName = path, Source = path, Height = raw.Height, Width = raw.Width, Channels = raw.Channels, Pixels = raw.Pixels,
            }, null, path);
        }
    }

    /// <summary>
    /// Decodes the whole dataset at one size and channel count (resized where sizes differ, see ImageResize).
    /// Files are decoded on all cores; one that cannot be decoded is reported through
    /// <paramref name="warn"/> (naming it) and left out.
    /// </summary>
    public static ImageSet Load(FssdDataset dataset, int channels, int height, int width,
        Action<string>? warn, CancellationToken cancellation)
    {
        int size = channels * height * width;
        if (dataset.Kind == DatasetKind.Idx)
        {
            var images = IdxCache.Read(dataset.Path);
            int[]? labels = dataset.LabelPath is null ? null : IdxCache.Read(dataset.LabelPath).Data.Take(dataset.Count).Select(b => (int)b).ToArray();
            int h = images.Shape[1], w = images.Shape[2], c = images.Shape.Length == 4 ? images.Shape[3] : 1;
            var pixels = new byte[(long)dataset.Count * size];
            if (h == height && w == width && c == channels && c == 1)
            {
                Array.Copy(images.Data, pixels, pixels.LongLength);
            }
            else
            {
                Parallel.For(0, dataset.Count, new ParallelOptions { CancellationToken = cancellation }, i =>
                {
                    var raw = new RawImage(images.Data.AsSpan(i * h * w * c, h * w * c).ToArray(), h, w, c);
                    WriteChannelsFirst(Prepare(raw, channels, height, width), pixels, (long)i * size);
                });
            }
            string file = System.IO.Path.GetFileName(dataset.Path);
            var sources = Enumerable.Range(0, dataset.Count).Select(i => $"{file}[{i}]").ToArray();
            return new ImageSet(dataset.Name, pixels, labels, dataset.Count, channels, height, width, dataset.ClassNames, sources, 0);
        }

        int n = dataset.Files.Count;
        var decoded = new byte[n][];
        var errors = new string?[n];
        Parallel.For(0, n, new ParallelOptions { CancellationToken = cancellation }, i =>
        {
            try
            {
                decoded[i] = ChannelsFirst(ImageDecoder.DecodeAt(dataset.Files[i], channels, height, width, cancellation));
            }
            catch (FssdDataException e)
            {
                errors[i] = e.Message;
            }
        });
        var kept = Enumerable.Range(0, n).Where(i => decoded[i] is not null).ToArray();
        foreach (var message in errors.Where(m => m is not null)) warn?.Invoke($"Skipped: {message}");
        if (kept.Length == 0) throw new FssdDataException($"No image of the dataset '{dataset.Name}' ({dataset.Path}) could be decoded.");
        var all = new byte[(long)kept.Length * size];
        for (int k = 0; k < kept.Length; k++) Array.Copy(decoded[kept[k]], 0, all, (long)k * size, size);
        int[]? fileLabels = dataset.Kind == DatasetKind.ImageFolder ? kept.Select(i => dataset.FileLabels[i]).ToArray() : null;
        return new ImageSet(dataset.Name, all, fileLabels, kept.Length, channels, height, width, dataset.ClassNames,
            kept.Select(i => dataset.Files[i]).ToArray(), n - kept.Length);
    }

    /// <summary>Converts channels and resizes one decoded image to what a model reads.</summary>
    public static RawImage Prepare(RawImage raw, int channels, int height, int width) =>
        ImageResize.Resize(raw.Channels == channels ? raw : ConvertChannels(raw, channels), height, width);

    public static RawImage ConvertChannels(RawImage raw, int channels)
    {
        if (raw.Channels == channels) return raw;
        int pixels = raw.Height * raw.Width;
        var output = new byte[pixels * channels];
        if (channels == 1)
        {
            for (int i = 0; i < pixels; i++)
            {
                output[i] = ImageDecoder.Luma(raw.Pixels[3 * i], raw.Pixels[3 * i + 1], raw.Pixels[3 * i + 2]);
            }
        }
        else
        {
            for (int i = 0; i < pixels; i++) output[3 * i] = output[3 * i + 1] = output[3 * i + 2] = raw.Pixels[i];
        }
        return new RawImage(output, raw.Height, raw.Width, channels);
    }

    /// <summary>Channels-last pixels as a new channels-first array (what a tensor [C, H, W] holds).</summary>
    public static byte[] ChannelsFirst(RawImage raw)
    {
        var chw = new byte[raw.Pixels.Length];
        WriteChannelsFirst(raw, chw, 0);
        return chw;
    }

    private static void WriteChannelsFirst(RawImage raw, byte[] target, long offset)
    {
        int c = raw.Channels, hw = raw.Height * raw.Width;
        if (c == 1)
        {
            Array.Copy(raw.Pixels, 0, target, offset, hw);
            return;
        }
        for (int p = 0; p < hw; p++)
            for (int k = 0; k < c; k++)
                target[offset + k * hw + p] = raw.Pixels[p * c + k];
    }
}
