using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Persistence;
using Fssd.Engine.Scoring;
using Xunit;

namespace Fssd.Engine.Tests;

public sealed class ResultsFileTests : IDisposable
{
    private static readonly string[] Taps = { "Fssd_conv2", "Fssd_fc1" };
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "fssd-results-" + Guid.NewGuid().ToString("N"));

    public ResultsFileTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, true);

    private string NewPath() => Path.Combine(_folder, Guid.NewGuid().ToString("N")[..8] + ".csv");

    private static ResultRecord Scored(string path, double score) =>
        new(path, score, score < 1, "Coat", 0.5, new[] { score * 2, score * 3 }, null);

    private static ResultRecord Failed(string path) => new(path, null, null, "", null, null, $"'{path}' is not an image.");

    private static List<ResultRow> ReadRows(string path)
    {
        var rows = new List<ResultRow>();
        using var stream = File.OpenRead(path);
        ResultsCsv.Scan(stream, path, rows.Add);
        return rows;
    }

    private static void Write(string path, IEnumerable<ResultRecord> rows, bool retryErrors = false)
    {
        using var file = ResultsFile.Open(path, Taps, retryErrors);
        foreach (var r in rows) file.Add(r);
        file.Flush();
    }

    [Fact]
    public void A_reopened_file_holds_the_rows_written_and_counts_them_as_done()
    {
        string path = NewPath();
        Write(path, new[] { Scored("a.png", 1.5), Scored("b/c.png", 0.25) });
        using var again = ResultsFile.Open(path, Taps, retryErrors: false);
        Assert.Equal(2, again.ExistingRows);
        Assert.True(again.Contains("a.png"));
        Assert.True(again.Contains("b/c.png"));
        Assert.False(again.Contains("d.png"));
        Assert.Null(again.Repair);
        var lines = File.ReadAllText(path).Split('\n');
        Assert.Equal("\"Path\",\"Score\",\"IsOutOfDistribution\",\"PredictedClass\",\"Confidence\",\"Fssd_conv2\",\"Fssd_fc1\",\"Error\"", lines[0]);
        Assert.Equal("\"b/c.png\",0.25,True,\"Coat\",0.5,0.5,0.75,\"\"", lines[2]);
    }

    [Fact]
    public void Numbers_round_trip_bit_for_bit_whatever_the_culture()
    {
        var values = new[] { 0.1 + 0.2, 1e300, 5e-324, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, Math.PI, 123456789.123456789 }
            .Concat(Enumerable.Range(0, 200).Select(i => BitConverter.Int64BitsToDouble(new Random(i).NextInt64(0, 0x7FEFFFFFFFFFFFFF)))).ToArray();
        string path = NewPath();
        var before = CultureInfo.CurrentCulture;
        try
        {
            // A decimal comma and a different minus sign must not leak into the file.
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Write(path, values.Select((v, i) => new ResultRecord($"{i}.png", v, false, "x", v, new[] { v, -v }, null)));
            CultureInfo.CurrentCulture = new CultureInfo("fr-FR");
            var rows = ReadRows(path);
            Assert.Equal(values.Length, rows.Count);
            for (int i = 0; i < values.Length; i++)
            {
                // NaN is written as NaN: its sign and payload carry no meaning here and are not kept.
                if (double.IsNaN(values[i]))
                {
                    Assert.True(double.IsNaN(rows[i].Score!.Value) && double.IsNaN(rows[i].Taps[1]!.Value));
                    continue;
                }
                Assert.Equal(BitConverter.DoubleToInt64Bits(values[i]), BitConverter.DoubleToInt64Bits(rows[i].Score!.Value));
                Assert.Equal(BitConverter.DoubleToInt64Bits(-values[i]), BitConverter.DoubleToInt64Bits(rows[i].Taps[1]!.Value));
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }

    [Fact]
    public void A_last_row_cut_off_at_any_byte_is_removed_on_open_and_its_file_scored_again()
    {
        string complete = NewPath();
        Write(complete, new[] { Scored("a.png", 1), Scored("b.png", 2), Scored("odd, \"name\"\n2.png", 3) });
        byte[] bytes = File.ReadAllBytes(complete);
        int thirdStart = Encoding.UTF8.GetString(bytes).IndexOf("\"odd", StringComparison.Ordinal);
        Assert.True(thirdStart > 0);
        // Every cut from one byte into the third row to one byte short of its line end.
        for (int cut = thirdStart + 1; cut < bytes.Length; cut++)
        {
            string path = NewPath();
            File.WriteAllBytes(path, bytes[..cut]);
            using (var file = ResultsFile.Open(path, Taps, retryErrors: false))
            {
                Assert.NotNull(file.Repair);
                Assert.Equal(2, file.ExistingRows);
                Assert.False(file.Contains("odd, \"name\"\n2.png"), $"cut at {cut}");
                file.Add(Scored("odd, \"name\"\n2.png", 3));
                file.Flush();
            }
            Assert.Equal(bytes, File.ReadAllBytes(path));
            File.Delete(path);
        }
    }

    [Fact]
    public void A_header_cut_off_is_written_again()
    {
        string path = NewPath();
        File.WriteAllText(path, "\"Path\",\"Sco");
        using var file = ResultsFile.Open(path, Taps, retryErrors: false);
        Assert.NotNull(file.Repair);
        Assert.Equal(0, file.ExistingRows);
        file.Add(Scored("a.png", 1));
        file.Flush();
        Assert.Single(ReadRows(path));
    }

    [Fact]
    public void Zeros_after_the_last_row_as_a_crash_leaves_them_are_removed()
    {
        string path = NewPath();
        Write(path, new[] { Scored("a.png", 1) });
        long good = new FileInfo(path).Length;
        File.AppendAllText(path, "\"b.png\",2\0\0\0\0\n\0\0\0");
        using (var file = ResultsFile.Open(path, Taps, retryErrors: false))
        {
            Assert.NotNull(file.Repair);
            Assert.Equal(1, file.ExistingRows);
        }
        Assert.Equal(good, new FileInfo(path).Length);
    }

    [Fact]
    public void A_damaged_row_with_good_rows_after_it_is_refused_not_cut()
    {
        string path = NewPath();
        Write(path, new[] { Scored("a.png", 1), Scored("b.png", 2), Scored("c.png", 3) });
        string text = File.ReadAllText(path).Replace("\"b.png\",2,", "\"b.png\",two,", StringComparison.Ordinal);
        File.WriteAllText(path, text);
        var e = Assert.Throws<FssdResultsFileException>(() => ResultsFile.Open(path, Taps, retryErrors: false));
        Assert.Contains("line 3", e.Message);
        Assert.Equal(text, File.ReadAllText(path));
    }

    [Fact]
    public void A_file_written_with_other_taps_is_refused()
    {
        string path = NewPath();
        Write(path, new[] { Scored("a.png", 1) });
        var e = Assert.Throws<FssdResultsFileException>(() => ResultsFile.Open(path, new[] { "Fssd_logits" }, retryErrors: false));
        Assert.Contains("Fssd_logits", e.Message);
    }

    [Fact]
    public void A_second_writer_of_the_same_file_is_refused_while_the_first_holds_it()
    {
        string path = NewPath();
        using (var first = ResultsFile.Open(path, Taps, retryErrors: false))
        {
            var e = Assert.Throws<FssdResultsFileException>(() => ResultsFile.Open(path, Taps, retryErrors: false));
            Assert.Contains("another process", e.Message);
        }
        using var later = ResultsFile.Open(path, Taps, retryErrors: false);
        Assert.False(File.Exists(path + ".lock") && OperatingSystem.IsWindows());
    }

    [Fact]
    public void An_error_row_counts_as_done_unless_errors_are_retried()
    {
        string path = NewPath();
        Write(path, new[] { Failed("bad.png"), Scored("good.png", 1) });
        using (var file = ResultsFile.Open(path, Taps, retryErrors: false))
        {
            Assert.True(file.Contains("bad.png"));
            Assert.Equal(1, file.ExistingErrors);
        }
        using (var file = ResultsFile.Open(path, Taps, retryErrors: true))
        {
            Assert.False(file.Contains("bad.png"));
            Assert.True(file.Contains("good.png"));
        }
        var bad = ReadRows(path).Single(r => r.Path == "bad.png");
        Assert.Null(bad.Score);
        Assert.Equal("'bad.png' is not an image.", bad.Error);
    }

    [Fact]
    public void Rows_Pythons_csv_module_wrote_are_read_row_for_row()
    {
        string folder = Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "sharding");
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "python-results.json"))).RootElement.GetProperty("rows")
            .EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetString()!).ToArray()).ToList();
        string path = Path.Combine(folder, "python-results.csv");
        var rows = ReadRows(path);
        Assert.Equal(expected.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var e = expected[i];
            Assert.Equal(e[0], rows[i].Path);
            Assert.Equal(e[1].Length == 0 ? null : double.Parse(e[1], CultureInfo.InvariantCulture), rows[i].Score);
            Assert.Equal(e[2].Length == 0 ? null : bool.Parse(e[2]), rows[i].IsOutOfDistribution);
            Assert.Equal(e[3], rows[i].PredictedClass);
            Assert.Equal(e[5].Length == 0 ? null : double.Parse(e[5], CultureInfo.InvariantCulture), rows[i].Taps[0]);
            Assert.Equal(e[6].Length == 0 ? null : double.Parse(e[6], CultureInfo.InvariantCulture), rows[i].Taps[1]);
            Assert.Equal(e[7], rows[i].Error);
        }
        // The fourth row's path holds a line break, so the fifth row starts on line 7.
        Assert.Equal(7, rows[4].Line);
    }

    [Fact]
    public void A_resumed_run_admits_only_the_files_of_its_shard_that_the_file_lacks()
    {
        string root = Path.Combine(_folder, "photos");
        var files = Enumerable.Range(0, 400).Select(i => Path.Combine(root, $"d{i % 7}", $"{i}.png")).ToList();
        var mine = files.Where(f => Sharding.ShardOf(Sharding.Key(f, root, out _), 3) == 1).ToList();
        string path = NewPath();
        var shard = new ShardSpec(1, 3, root);
        using (var run = new ResumableRun(shard, root, ResultsFile.Open(path, Taps, false), inputsArePaths: true, _ => { }))
        {
            // Killed after scoring the first half of its shard.
            foreach (var f in files.Take(200).Where(run.Admit)) run.Record(f, 1, false, "Coat", 0.9, new[] { 1.0, 2.0 }, null);
            run.Flush();
        }
        int before = ReadRows(path).Count;
        var admitted = new List<string>();
        using (var run = new ResumableRun(shard, root, ResultsFile.Open(path, Taps, false), inputsArePaths: true, _ => { }))
        {
            // The restart is given the whole listing, in another order, with one file twice.
            foreach (var f in files.Append(files[399]).OrderByDescending(f => f, StringComparer.Ordinal).Where(run.Admit))
            {
                admitted.Add(f);
                run.Record(f, 1, false, "Coat", 0.9, new[] { 1.0, 2.0 }, null);
            }
            run.Flush();
            Assert.Equal(before + (mine.Contains(files[399]) ? 1 : 0), run.AlreadyDone);
        }
        Assert.Equal(mine.Skip(before).OrderBy(f => f, StringComparer.Ordinal), admitted.OrderBy(f => f, StringComparer.Ordinal));
        var keys = ReadRows(path).Select(r => r.Path).ToList();
        Assert.Equal(mine.Select(f => Sharding.Key(f, root, out _)).OrderBy(k => k, StringComparer.Ordinal), keys.OrderBy(k => k, StringComparer.Ordinal));
    }
}
