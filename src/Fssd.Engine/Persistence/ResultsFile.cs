using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Fssd.Engine.Persistence;

/// <summary>
/// A results file open for appending (Measure-Fssd -ResultPath): what it already holds is read once, so
/// a restarted worker skips those files; new rows are written batch by batch and flushed to disk, so a
/// killed worker loses at most the batch in flight. A row cut off by the kill (bytes after the last line
/// end, or damaged rows at the very end) is removed on open and its file scored again; damage followed by
/// good rows is not an interrupted write and is refused. One writer per file: each worker its own file.
/// </summary>
public sealed class ResultsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly FileStream _lock;
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private readonly StringBuilder _pending = new();
    private readonly int _tapCount;

    private ResultsFile(string path, FileStream stream, FileStream writerLock, int tapCount)
    {
        Path = path;
        _stream = stream;
        _lock = writerLock;
        _tapCount = tapCount;
    }

    public string Path { get; }

    /// <summary>Rows the file held when it was opened.</summary>
    public long ExistingRows { get; private set; }

    /// <summary>Of those, rows that record an error.</summary>
    public long ExistingErrors { get; private set; }

    /// <summary>What was repaired on open (an incomplete last row), or null.</summary>
    public string? Repair { get; private set; }

    /// <summary>Rows written by this run.</summary>
    public long Written { get; private set; }

    /// <summary>
    /// Opens (or creates) the results file for a run that scores <paramref name="tapColumns"/>. With
    /// <paramref name="retryErrors"/>, files whose only rows are errors count as not done.
    /// </summary>
    public static ResultsFile Open(string path, IReadOnlyList<string> tapColumns, bool retryErrors)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new FssdResultsFileException(full, $"The results path '{full}' is a folder; give a file (e.g. results.csv).");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        // A second writer of the same file fails on the lock file (released by the kernel if this process
        // dies), rather than interleaving rows; readers (Join-FssdResult) open the results file itself freely.
        string lockPath = full + ".lock";
        FileStream writerLock;
        try
        {
            writerLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e)
        {
            throw new FssdResultsFileException(full, $"The results file '{full}' is being written by another process (its lock '{lockPath}' is held): each worker needs its own -ResultPath.", e);
        }
        FileStream? stream = null;
        try
        {
            stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.None);
            var file = new ResultsFile(full, stream, writerLock, tapColumns.Count);
            file.Load(ResultsCsv.Header(tapColumns), retryErrors);
            return file;
        }
        catch (Exception e)
        {
            stream?.Dispose();
            Release(writerLock);
            if (e is IOException or UnauthorizedAccessException) throw new FssdResultsFileException(full, $"The results file '{full}' cannot be opened for writing: {e.Message}", e);
            throw;
        }
    }

    private void Load(string[] header, bool retryErrors)
    {
        var scan = ResultsCsv.Scan(_stream, Path, row =>
        {
            ExistingRows++;
            if (!row.IsScored) ExistingErrors++;
            if (row.IsScored || !retryErrors) _done.Add(row.Path);
        });
        if (scan.Header is not null && !scan.Header.SequenceEqual(header))
            throw new FssdResultsFileException(Path,
                $"'{Path}' holds results with the columns {string.Join(", ", scan.Header)}; this run writes {string.Join(", ", header)}. " +
                "Score with the detector that wrote it, or give another -ResultPath.");
        if (scan.DamagedBeforeGood)
        {
            var (line, why) = scan.Damaged[0];
            throw new FssdResultsFileException(Path,
                $"'{Path}' line {line} cannot be read ({why}) and good rows follow it, so it is not a row cut off by an interrupted run; repair or move the file.");
        }
        if (scan.Header is null)
        {
            // Empty, or only part of the header: start over.
            _stream.SetLength(0);
            if (scan.Length > 0) Repair = $"'{Path}' held only an incomplete header ({scan.Length} bytes); it was written again.";
            var bytes = Encoding.UTF8.GetBytes(ResultsCsv.HeaderLine(header));
            _stream.Write(bytes);
            _stream.Flush(flushToDisk: true);
            return;
        }
        if (scan.GoodEnd < scan.Length)
        {
            long cut = scan.Length - scan.GoodEnd;
            long line = scan.Damaged.Count > 0 ? scan.Damaged[0].Line : scan.TailLine;
            Repair = $"'{Path}': removed an incomplete last row ({cut} byte(s) from line {line}) left by an interrupted run; its file is scored again.";
            _stream.SetLength(scan.GoodEnd);
            _stream.Flush(flushToDisk: true);
        }
        _stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>Whether the file already holds this key (a score, or an error that is not retried).</summary>
    public bool Contains(string key) => _done.Contains(key);

    /// <summary>Queues a row; it reaches the file at the next <see cref="Flush"/>.</summary>
    public void Add(ResultRecord row)
    {
        ResultsCsv.AppendRow(_pending, row, _tapCount);
        _done.Add(row.Path);
        Written++;
    }

    /// <summary>Writes the queued rows in one write and waits until they are on disk.</summary>
    public void Flush()
    {
        if (_pending.Length == 0) return;
        var bytes = Encoding.UTF8.GetBytes(_pending.ToString());
        _pending.Clear();
        _stream.Write(bytes);
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        try
        {
            Flush();
        }
        finally
        {
            _stream.Dispose();
            Release(_lock);
        }
    }

    /// <summary>Removes the lock file and lets it go: unlinked while held on Unix (no second writer can slip in between), after on Windows (which cannot delete it while open).</summary>
    private static void Release(FileStream writerLock)
    {
        string path = writerLock.Name;
        try
        {
            if (!OperatingSystem.IsWindows()) File.Delete(path);
            writerLock.Dispose();
            if (OperatingSystem.IsWindows()) File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            writerLock.Dispose();
        }
    }
}
