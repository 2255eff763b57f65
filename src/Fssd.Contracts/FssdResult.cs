using System;
using System.Collections.Generic;
using System.Collections.Specialized;

namespace Fssd;

/// <summary>
/// One row of a results file (Measure-Fssd -ResultPath): a file's score, or why it could not be scored.
/// Returned by Join-FssdResult.
/// </summary>
public sealed class FssdResultRow
{
    /// <summary>The file, relative to the root the worker keyed it by (-ShardRoot), '/' between folders.</summary>
    public string Path { get; init; } = "";

    /// <summary>The detector's score; null when the file could not be read.</summary>
    public double? Score { get; init; }

    /// <summary>Score below the threshold; null without a threshold or without a score.</summary>
    public bool? IsOutOfDistribution { get; init; }

    public string PredictedClass { get; init; } = "";

    public double? Confidence { get; init; }

    /// <summary>Column name without its Fssd_ prefix → FSSD at that tap, in column order.</summary>
    public FssdLayerScores LayerScores { get; init; } = new();

    /// <summary>Why the file could not be scored; empty when it was.</summary>
    public string Error { get; init; } = "";

    /// <summary>The results file the row came from.</summary>
    public string Source { get; init; } = "";

    /// <summary>The row's line in that file (the header is line 1).</summary>
    public long Line { get; init; }

    public override string ToString() => Error.Length > 0 ? $"{Path}: {Error}" : $"{Path}: {Score:G6}";
}

/// <summary>
/// Many results files as one table (Join-FssdResult): one row per file, and what does not add up — files
/// the listing has and no results file does, extra rows for a file already present, rows that could not
/// be read. Every row read is either in <see cref="Rows"/> or in <see cref="Duplicates"/>.
/// </summary>
public sealed class FssdResultMerge
{
    /// <summary>The results files read, in the order read.</summary>
    public IReadOnlyList<string> Sources { get; init; } = Array.Empty<string>();

    /// <summary>One row per file: the first scored row for it, or its first error row when none scored.</summary>
    public IReadOnlyList<FssdResultRow> Rows { get; init; } = Array.Empty<FssdResultRow>();

    /// <summary>Every further row of a file already in <see cref="Rows"/>, with where it was.</summary>
    public IReadOnlyList<FssdResultRow> Duplicates { get; init; } = Array.Empty<FssdResultRow>();

    /// <summary>Files with two scored rows whose scores differ (not the same detector, or not the same file).</summary>
    public IReadOnlyList<string> Conflicts { get; init; } = Array.Empty<string>();

    /// <summary>Files of the expected listing with no row; empty when no listing was given.</summary>
    public IReadOnlyList<string> Missing { get; init; } = Array.Empty<string>();

    /// <summary>Files with a row but not in the expected listing; empty when no listing was given.</summary>
    public IReadOnlyList<string> Unexpected { get; init; } = Array.Empty<string>();

    /// <summary>How many files of the expected listing there were; null when none was given.</summary>
    public long? ExpectedCount { get; init; }

    /// <summary>Rows that could not be read ("file:line: why"), incomplete last lines included.</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = Array.Empty<string>();

    /// <summary>How many rows of <see cref="Rows"/> record an error instead of a score.</summary>
    public long ErrorCount { get; init; }

    /// <summary>The merged CSV, when one was written.</summary>
    public string? Destination { get; init; }

    /// <summary>
    /// Every file of the listing has a row, no row was unreadable and no file has two different scores
    /// (duplicates with the same score, or an error row superseded by a score, leave the table whole).
    /// </summary>
    public bool IsComplete => Missing.Count == 0 && Unreadable.Count == 0 && Conflicts.Count == 0;

    public override string ToString() =>
        $"{Rows.Count} file(s) from {Sources.Count} results file(s): {Missing.Count} missing, {Duplicates.Count} duplicate row(s), {ErrorCount} error(s)";
}
