using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell;

/// <summary>Turns what users pass as inputs (paths, FileInfo, datasets, samples) into files or decoded images.</summary>
internal static class InputResolver
{
    /// <summary>Provider paths for -Path (wildcards) or -LiteralPath; a path that matches nothing is reported and skipped.</summary>
    /// <summary>An absolute path of the file system with nothing for PowerShell to expand (no provider prefix, no ~, no drive name).</summary>
    internal static bool IsPlainFileSystemPath(string path) =>
        System.IO.Path.IsPathFullyQualified(path) && !path.Contains("::", StringComparison.Ordinal) &&
        (!OperatingSystem.IsWindows() || (path.Length >= 3 && path[1] == ':') || path.StartsWith(@"\\", StringComparison.Ordinal));

    public static IEnumerable<string> ResolvePaths(PSCmdlet cmdlet, IEnumerable<string> paths, bool literal, Action<ErrorRecord> error)
    {
        foreach (var path in paths)
        {
            if (literal)
            {
                yield return cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                continue;
            }
            // A path without wildcard characters names one item: resolving it as a pattern costs about a
            // millisecond per file, which would be the bottleneck of a pipeline of plain paths.
            if (!WildcardPattern.ContainsWildcardCharacters(path))
            {
                string single;
                try
                {
                    // A fully qualified file system path is its own provider path; asking the session state
                    // costs ~70 µs a file, a third of the pipeline thread's time per file (measured).
                    single = IsPlainFileSystemPath(path) ? System.IO.Path.GetFullPath(path) : cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                }
                catch (Exception e) when (e is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException)
                {
                    error(new ErrorRecord(new FssdDataException($"'{path}' is not a file system path: {e.Message}", e), "FssdPathNotFound", ErrorCategory.ObjectNotFound, path));
                    continue;
                }
                if (File.Exists(single) || Directory.Exists(single)) yield return single;
                else error(new ErrorRecord(new FssdDataException($"'{path}' does not exist."), "FssdPathNotFound", ErrorCategory.ObjectNotFound, path));
                continue;
            }
            System.Collections.ObjectModel.Collection<string>? resolved = null;
            try
            {
                resolved = cmdlet.GetResolvedProviderPathFromPSPath(path, out _);
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                error(new ErrorRecord(new FssdDataException($"'{path}' does not exist.", e), "FssdPathNotFound", ErrorCategory.ObjectNotFound, path));
            }
            if (resolved is null) continue;
            if (resolved.Count == 0)
                error(new ErrorRecord(new FssdDataException($"'{path}' matches no file."), "FssdPathNotFound", ErrorCategory.ObjectNotFound, path));
            foreach (var r in resolved) yield return r;
        }
    }

    /// <summary>
    /// Decodes inputs for a model: datasets and samples are read directly, anything else is taken as a
    /// path (FileInfo by its full name). Unreadable inputs are reported and skipped.
    /// </summary>
    public static List<(string Source, byte[] Pixels)> Decode(PSCmdlet cmdlet, IEnumerable<object> inputs, FssdInputSpec spec,
        Action<ErrorRecord> error, Action<string> warn, System.Threading.CancellationToken cancellation)
    {
        var decoded = new List<(string, byte[])>();
        var files = new List<string>();
        int size = spec.Channels * spec.Height * spec.Width;
        foreach (var raw in inputs)
        {
            object item = raw is PSObject ps ? ps.BaseObject : raw;
            switch (item)
            {
                case FssdDataset dataset:
                {
                    var set = DatasetReader.Load(dataset, spec.Channels, spec.Height, spec.Width, warn, cancellation);
                    for (int i = 0; i < set.Count; i++) decoded.Add((set.Sources[i], set.Pixels.AsSpan(i * size, size).ToArray()));
                    break;
                }
                case FssdSample sample:
                {
                    var ready = Prepare(sample, spec);
                    if (ready.Error is not null) error(new ErrorRecord(ready.Error, "FssdSampleInvalid", ErrorCategory.InvalidData, sample.Source));
                    else decoded.Add((sample.Source, ready.Pixels!));
                    break;
                }
                case FileSystemInfo info:
                    files.Add(info.FullName);
                    break;
                default:
                    files.AddRange(ResolvePaths(cmdlet, new[] { item.ToString() ?? "" }, false, error));
                    break;
            }
        }
        if (files.Count > 0)
        {
            using var stream = new OrderedImageStream(spec, 256, cancellation);
            foreach (var f in files)
            {
                stream.Add(f);
                if (stream.Count >= 256) Drain(stream.Take(128), decoded, error);
            }
            Drain(stream.Take(int.MaxValue), decoded, error);
        }
        return decoded;
    }

    /// <summary>An in-memory sample at the model's size and channels, or why it cannot be.</summary>
    public static DecodedInput Prepare(FssdSample sample, FssdInputSpec spec)
    {
        long expected = (long)sample.Height * sample.Width * sample.Channels;
        if (sample.Height <= 0 || sample.Width <= 0 || sample.Channels is not (1 or 3 or 4) || sample.Pixels is null || sample.Pixels.Length != expected)
            return new DecodedInput(sample.Source, null, new FssdDataException(
                $"Sample '{sample.Source}' is malformed: {sample.Pixels?.Length ?? 0} bytes of pixels for {sample.Height} x {sample.Width} x {sample.Channels}."),
                null, sample.FullName is not null);
        var prepared = DatasetReader.Prepare(new RawImage(sample.Pixels, sample.Height, sample.Width, sample.Channels), spec.Channels, spec.Height, spec.Width);
        var original = new SourceImage(sample.Height, sample.Width, SourceImage.IsColourImage(sample.Pixels, sample.Channels));
        return new DecodedInput(sample.Source, DatasetReader.ChannelsFirst(prepared), null, original, sample.FullName is not null);
    }

    private static void Drain(List<DecodedInput> items, List<(string, byte[])> decoded, Action<ErrorRecord> error)
    {
        foreach (var item in items)
        {
            if (item.Error is not null) error(new ErrorRecord(item.Error, "FssdImageUnreadable", ErrorCategory.InvalidData, item.Path));
            else decoded.Add((item.Path, item.Pixels!));
        }
    }
}
