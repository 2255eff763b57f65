using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Data;
using Fssd.Engine.Persistence;

namespace Fssd.Engine.Scoring;

/// <summary>
/// One worker's part of a run that spans machines: which inputs it scores (those of its shard that its
/// results file does not hold yet) and where their rows go. Inputs are keyed as the shard rule keys them
/// (relative to the root), so a worker's results file names files the same way on every machine.
/// </summary>
public sealed class ResumableRun : IDisposable
{
    private readonly ShardSpec? _shard;
    private readonly string _root;
    private readonly bool _inputsArePaths;
    private readonly Action<string> _warn;
    private readonly Dictionary<string, string> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlightKeys = new(StringComparer.Ordinal);
    private bool _warnedOutside;

    /// <param name="shard">This worker's shard; null to score every input.</param>
    /// <param name="root">The folder keys are relative to.</param>
    /// <param name="results">The results file to resume and append to; null for none.</param>
    /// <param name="inputsArePaths">False when inputs are in-memory samples, keyed by their source name as it is.</param>
    /// <param name="warn">Told once when a file lies outside the root.</param>
    public ResumableRun(ShardSpec? shard, string root, ResultsFile? results, bool inputsArePaths, Action<string> warn)
    {
        _shard = shard;
        _root = System.IO.Path.GetFullPath(root);
        Results = results;
        _inputsArePaths = inputsArePaths;
        _warn = warn;
    }

    public ResultsFile? Results { get; }

    /// <summary>
    /// The run Measure-Fssd's -Shard, -ShardCount, -ShardRoot and -ResultPath ask for: shard k of N
    /// (both or neither), the results file opened for <paramref name="taps"/> and repaired if a kill cut
    /// its last row (<paramref name="warn"/> is told). Throws FssdShardException for a shard that does not
    /// exist, FssdResultsFileException for a results file that cannot be used.
    /// </summary>
    public static ResumableRun Open(int? shard, int? shardCount, string root, string? resultPath, IEnumerable<string> taps,
        bool retryErrors, bool inputsArePaths, Action<string> warn)
    {
        if ((shard is null) != (shardCount is null))
            throw new FssdShardException("-Shard and -ShardCount go together: shard k of N, numbered from 0.");
        var spec = shard is int k ? new ShardSpec(k, shardCount!.Value, root) : null;
        var results = resultPath is null ? null : ResultsFile.Open(resultPath, TapColumns(taps), retryErrors);
        if (results?.Repair is { } repair) warn(repair);
        return new ResumableRun(spec, root, results, inputsArePaths, warn);
    }

    /// <summary>Inputs of other shards, passed over.</summary>
    public long OtherShards { get; private set; }

    /// <summary>Inputs the results file held already (or given twice), passed over.</summary>
    public long AlreadyDone { get; private set; }

    /// <summary>The key of an input: its path relative to the root, or a sample's source name.</summary>
    public string KeyOf(string input)
    {
        if (!_inputsArePaths) return input;
        string key = Sharding.Key(input, _root, out bool underRoot);
        if (!underRoot && !_warnedOutside)
        {
            _warnedOutside = true;
            _warn($"'{input}' is not under the shard root '{_root}': it is keyed by its full path, which other machines may write differently. " +
                "Give -ShardRoot the folder every worker sees the files under.");
        }
        return key;
    }

    /// <summary>Whether to score this input: in this worker's shard, not in the results file, not given before in this run.</summary>
    public bool Admit(string input)
    {
        string key = KeyOf(input);
        if (_shard is not null && !_shard.Contains(key))
        {
            OtherShards++;
            return false;
        }
        if (Results is not null && (Results.Contains(key) || !_inFlightKeys.Add(key)))
        {
            AlreadyDone++;
            return false;
        }
        _inFlight[input] = key;
        return true;
    }

    /// <summary>Queues the row of a scored (or unreadable) input; it is written at the next <see cref="Flush"/>.</summary>
    public void Record(string input, double? score, bool? isOutOfDistribution, string? predictedClass, double? confidence, IReadOnlyList<double>? taps, string? error)
    {
        if (!_inFlight.Remove(input, out var key)) key = KeyOf(input);
        _inFlightKeys.Remove(key);
        Results?.Add(new ResultRecord(key, score, isOutOfDistribution, predictedClass, confidence, taps, error));
    }

    /// <summary>Writes the queued rows (once per batch).</summary>
    public void Flush() => Results?.Flush();

    /// <summary>A line for -Verbose: what was passed over and what was written.</summary>
    public string Summary()
    {
        var parts = new List<string>();
        if (_shard is not null) parts.Add($"{_shard}: {OtherShards} input(s) of other shards passed over");
        if (Results is not null)
            parts.Add($"{AlreadyDone} input(s) already in '{Results.Path}' ({Results.ExistingRows} row(s) at the start) passed over, {Results.Written} row(s) written");
        return string.Join("; ", parts) + ".";
    }

    /// <summary>The tap columns of a results file for these taps.</summary>
    public static IReadOnlyList<string> TapColumns(IEnumerable<string> taps) => taps.Select(ResultsCsv.TapColumn).ToList();

    public void Dispose() => Results?.Dispose();
}
