using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;

namespace Fssd.Engine.Persistence;

/// <summary>
/// Many results files (one per worker or shard) as one table. No row is dropped: each file's first scored
/// row (or, when it has none, its first error row) is the table's, and every other row of that file is
/// listed as a duplicate. Against an expected listing it says which files have no row and which rows no
/// listed file. Reads only: an incomplete last row (a worker still writing, or killed) is reported, not repaired.
/// </summary>
public static class ResultsMerge
{
    /// <param name="files">The results files, in the order their rows are taken.</param>
    /// <param name="expectedKeys">The keys every file should have (as Sharding.Key makes them); null for no check.</param>
    /// <param name="destination">Where to write the merged table (atomically, the same CSV format); null for nowhere.</param>
    /// <param name="fileError">Told about a file that cannot be read at all; the merge goes on without it.</param>
    public static FssdResultMerge Merge(IReadOnlyList<string> files, IEnumerable<string>? expectedKeys, string? destination,
        Action<string, FssdDataException> fileError, CancellationToken cancellation)
    {
        var rows = new List<FssdResultRow>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var duplicates = new List<FssdResultRow>();
        var conflicts = new List<string>();
        var conflicted = new HashSet<string>(StringComparer.Ordinal);
        var unreadable = new List<string>();
        var sources = new List<string>();
        var tapColumns = new List<string>();
        foreach (var file in files)
        {
            cancellation.ThrowIfCancellationRequested();
            string full = Path.GetFullPath(file);
            ResultsScan scan;
            try
            {
                using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
                IReadOnlyList<string> columns = Array.Empty<string>();
                scan = ResultsCsv.Scan(stream, full,
                    row => Take(ToContract(row, columns, full), rows, index, duplicates, conflicts, conflicted),
                    header => columns = ResultsCsv.TapColumnsOf(header));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                fileError(full, new FssdResultsFileException(full, $"The results file '{full}' cannot be read: {e.Message}", e));
                continue;
            }
            catch (FssdDataException e)
            {
                fileError(full, e);
                continue;
            }
            sources.Add(full);
            foreach (var column in scan.TapColumns) if (!tapColumns.Contains(column)) tapColumns.Add(column);
            foreach (var (line, why) in scan.Damaged) unreadable.Add($"{full}:{line}: {why}");
            if (scan.HasIncompleteTail)
                unreadable.Add($"{full}:{scan.TailLine}: an incomplete last row ({scan.Length - scan.CompleteEnd} byte(s)): its worker was stopped while writing, or is writing now; it is removed when the worker resumes");
        }

        var missing = new List<string>();
        var unexpected = new List<string>();
        long? expectedCount = null;
        if (expectedKeys is not null)
        {
            var expected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in expectedKeys)
            {
                cancellation.ThrowIfCancellationRequested();
                if (!expected.Add(key)) continue;
                if (!index.ContainsKey(key)) missing.Add(key);
            }
            expectedCount = expected.Count;
            unexpected.AddRange(rows.Where(r => !expected.Contains(r.Path)).Select(r => r.Path));
        }

        string? written = null;
        if (destination is not null)
        {
            written = Path.GetFullPath(destination);
            Write(written, rows, tapColumns);
        }
        return new FssdResultMerge
        {
            Sources = sources, Rows = rows, Duplicates = duplicates, Conflicts = conflicts, Missing = missing, Unexpected = unexpected,
            ExpectedCount = expectedCount, Unreadable = unreadable, ErrorCount = rows.LongCount(r => r.Error.Length > 0), Destination = written,
        };
    }

    private static void Take(FssdResultRow row, List<FssdResultRow> rows, Dictionary<string, int> index, List<FssdResultRow> duplicates,
        List<string> conflicts, HashSet<string> conflicted)
    {
        if (!index.TryGetValue(row.Path, out int at))
        {
            index[row.Path] = rows.Count;
            rows.Add(row);
            return;
        }
        var kept = rows[at];
        bool keptScored = kept.Error.Length == 0, rowScored = row.Error.Length == 0;
        if (!keptScored && rowScored)
        {
            // A file retried after an error: the score is the row, the error the extra one.
            rows[at] = row;
            duplicates.Add(kept);
            return;
        }
        duplicates.Add(row);
        if (keptScored && rowScored && !Nullable.Equals(kept.Score, row.Score) && conflicted.Add(row.Path)) conflicts.Add(row.Path);
    }

    private static FssdResultRow ToContract(ResultRow row, IReadOnlyList<string> tapColumns, string source)
    {
        var layers = new FssdLayerScores();
        for (int k = 0; k < tapColumns.Count; k++) layers[tapColumns[k][ResultsCsv.TapPrefix.Length..]] = row.Taps[k];
        return new FssdResultRow
        {
            Path = row.Path, Score = row.Score, IsOutOfDistribution = row.IsOutOfDistribution, PredictedClass = row.PredictedClass,
            Confidence = row.Confidence, LayerScores = layers, Error = row.Error, Source = source, Line = row.Line,
        };
    }

    /// <summary>Writes the table through a temporary sibling and a rename, so a reader never sees half of it.</summary>
    private static void Write(string path, IReadOnlyList<FssdResultRow> rows, IReadOnlyList<string> tapColumns)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var text = new StringBuilder(ResultsCsv.HeaderLine(ResultsCsv.Header(tapColumns)));
                foreach (var row in rows)
                {
                    ResultsCsv.AppendRow(text, row, tapColumns);
                    if (text.Length > 1 << 20)
                    {
                        stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
                        text.Clear();
                    }
                }
                stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
