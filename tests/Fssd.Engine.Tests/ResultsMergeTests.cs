using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Persistence;
using Xunit;

namespace Fssd.Engine.Tests;

public sealed class ResultsMergeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "fssd-merge-" + Guid.NewGuid().ToString("N"));

    public ResultsMergeTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, true);

    private string Results(string name, string[] taps, params ResultRecord[] rows)
    {
        string path = Path.Combine(_folder, name);
        using var file = ResultsFile.Open(path, taps, retryErrors: true);
        foreach (var r in rows) file.Add(r);
        file.Flush();
        return path;
    }

    private static ResultRecord Row(string key, double score) => new(key, score, false, "Coat", 0.5, new[] { score }, null);

    private static FssdResultMerge Merge(IReadOnlyList<string> files, IEnumerable<string>? expected = null, string? destination = null, List<string>? errors = null) =>
        ResultsMerge.Merge(files, expected, destination, (f, e) => errors?.Add(f + ": " + e.Message), CancellationToken.None);

    [Fact]
    public void The_merge_reports_the_missing_files_and_every_duplicate_row_and_loses_no_row()
    {
        var taps = new[] { "Fssd_fc1" };
        string a = Results("shard-0.csv", taps, Row("a.png", 1), Row("b.png", 2), Row("a.png", 1));
        string b = Results("shard-1.csv", taps, Row("c.png", 3), Row("b.png", 2));
        var merge = Merge(new[] { a, b }, new[] { "a.png", "b.png", "c.png", "d.png", "e.png" });
        Assert.Equal(new[] { "a.png", "b.png", "c.png" }, merge.Rows.Select(r => r.Path));
        Assert.Equal(new[] { ("a.png", a, 4L), ("b.png", b, 3L) }, merge.Duplicates.Select(r => (r.Path, r.Source, r.Line)));
        Assert.Equal(new[] { "d.png", "e.png" }, merge.Missing);
        Assert.Empty(merge.Conflicts);
        Assert.Empty(merge.Unexpected);
        Assert.Equal(5, merge.ExpectedCount);
        Assert.Equal(5, merge.Rows.Count + merge.Duplicates.Count);
        Assert.False(merge.IsComplete);
        Assert.True(Merge(new[] { a, b }, new[] { "a.png", "b.png", "c.png" }).IsComplete);
    }

    [Fact]
    public void A_file_retried_after_an_error_is_in_the_table_with_its_score()
    {
        var taps = new[] { "Fssd_fc1" };
        string a = Results("a.csv", taps, new ResultRecord("x.png", null, null, "", null, null, "busy"), Row("y.png", 1));
        string b = Results("b.csv", taps, Row("x.png", 4));
        var merge = Merge(new[] { a, b });
        var x = merge.Rows.Single(r => r.Path == "x.png");
        Assert.Equal(4, x.Score);
        Assert.Equal(b, x.Source);
        Assert.Equal("busy", Assert.Single(merge.Duplicates).Error);
        Assert.Equal(0, merge.ErrorCount);
        Assert.Empty(merge.Conflicts);
    }

    [Fact]
    public void Two_different_scores_for_one_file_are_a_conflict()
    {
        var taps = new[] { "Fssd_fc1" };
        var merge = Merge(new[] { Results("a.csv", taps, Row("x.png", 1)), Results("b.csv", taps, Row("x.png", 1.5)) });
        Assert.Equal(new[] { "x.png" }, merge.Conflicts);
        Assert.Equal(1, merge.Rows.Single().Score);
        Assert.False(merge.IsComplete);
    }

    [Fact]
    public void An_incomplete_last_row_is_reported_and_the_file_left_as_it_is()
    {
        var taps = new[] { "Fssd_fc1" };
        string a = Results("a.csv", taps, Row("x.png", 1), Row("y.png", 2));
        File.AppendAllText(a, "\"z.png\",3.2");
        byte[] before = File.ReadAllBytes(a);
        var merge = Merge(new[] { a }, new[] { "x.png", "y.png", "z.png" });
        Assert.Equal(new[] { "z.png" }, merge.Missing);
        Assert.Contains($"{a}:4: an incomplete last row", Assert.Single(merge.Unreadable));
        Assert.Equal(before, File.ReadAllBytes(a));
    }

    [Fact]
    public void The_merged_file_is_a_results_file_with_every_tap_column_of_its_sources()
    {
        string a = Results("a.csv", new[] { "Fssd_fc1" }, Row("x.png", 1));
        string b = Results("b.csv", new[] { "Fssd_fc1", "Fssd_logits" }, new ResultRecord("y.png", 2, true, "Bag", 0.25, new[] { 5.0, 6.0 }, null));
        string merged = Path.Combine(_folder, "out", "all.csv");
        var merge = Merge(new[] { a, b }, destination: merged);
        Assert.Equal(merged, merge.Destination);
        var again = Merge(new[] { merged });
        Assert.Equal(new[] { "x.png", "y.png" }, again.Rows.Select(r => r.Path));
        Assert.Equal(1.0, again.Rows[0].LayerScores["fc1"]);
        Assert.Null(again.Rows[0].LayerScores["logits"]);
        Assert.Equal(6.0, again.Rows[1].LayerScores["logits"]);
        Assert.Equal(true, again.Rows[1].IsOutOfDistribution);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(merged)!, "*.tmp"));
    }

    [Fact]
    public void A_file_that_is_not_a_results_file_is_an_error_and_the_others_are_merged()
    {
        string a = Results("a.csv", new[] { "Fssd_fc1" }, Row("x.png", 1));
        string other = Path.Combine(_folder, "other.csv");
        File.WriteAllText(other, "Name,Value\nq,1\n");
        var errors = new List<string>();
        var merge = Merge(new[] { other, a }, errors: errors);
        Assert.Contains("is not a results file", Assert.Single(errors));
        Assert.Equal(new[] { a }, merge.Sources);
        Assert.Single(merge.Rows);
    }
}
