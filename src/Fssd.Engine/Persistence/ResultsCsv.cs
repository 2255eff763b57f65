using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Fssd.Engine.Persistence;

/// <summary>One row of a results file as written: a file's key and its score, or why it could not be scored.</summary>
public sealed record ResultRecord(string Path, double? Score, bool? IsOutOfDistribution, string? PredictedClass, double? Confidence,
    IReadOnlyList<double>? Taps, string? Error);

/// <summary>One row of a results file as read, with its physical line (the header is line 1).</summary>
public sealed record ResultRow(string Path, double? Score, bool? IsOutOfDistribution, string PredictedClass, double? Confidence,
    double?[] Taps, string Error, long Line)
{
    public bool IsScored => Error.Length == 0;
}

/// <summary>
/// The results file format (RFC 4180 CSV, UTF-8 without BOM, LF line ends): a header once, then one row
/// per file. Columns: Path, Score, IsOutOfDistribution, PredictedClass, Confidence, one Fssd_&lt;tap&gt;
/// per tap (the names Measure-Fssd's objects carry), Error. Numbers are culture-invariant and round-trip
/// (double "R"); booleans True/False; an empty cell is "none". Text columns are always quoted. A row of
/// a file that could not be read has its Error and no numbers.
/// </summary>
public static class ResultsCsv
{
    public static readonly IReadOnlyList<string> LeadingColumns = new[] { "Path", "Score", "IsOutOfDistribution", "PredictedClass", "Confidence" };
    public const string ErrorColumn = "Error";
    public const string TapPrefix = "Fssd_";

    /// <summary>The column of a tap (a multi-model detector's "model1/conv2" becomes Fssd_model1_conv2).</summary>
    public static string TapColumn(string tap) => TapPrefix + tap.Replace('/', '_');

    public static string[] Header(IEnumerable<string> tapColumns) => LeadingColumns.Concat(tapColumns).Append(ErrorColumn).ToArray();

    public static string HeaderLine(IReadOnlyList<string> header) => string.Join(',', header.Select(Quote)) + "\n";

    /// <summary>Appends one row, line end included.</summary>
    public static void AppendRow(StringBuilder line, ResultRecord row, int tapCount)
    {
        line.Append(Quote(row.Path)).Append(',');
        AppendNumber(line, row.Score);
        line.Append(',');
        if (row.IsOutOfDistribution is bool ood) line.Append(ood ? "True" : "False");
        line.Append(',').Append(Quote(row.PredictedClass ?? "")).Append(',');
        AppendNumber(line, row.Confidence);
        for (int k = 0; k < tapCount; k++)
        {
            line.Append(',');
            if (row.Taps is not null && k < row.Taps.Count) AppendNumber(line, row.Taps[k]);
        }
        line.Append(',').Append(Quote(row.Error ?? "")).Append('\n');
    }

    /// <summary>The row with its taps in <paramref name="tapColumns"/> order, for a merged file whose columns are a union.</summary>
    public static void AppendRow(StringBuilder line, FssdResultRow row, IReadOnlyList<string> tapColumns)
    {
        line.Append(Quote(row.Path)).Append(',');
        AppendNumber(line, row.Score);
        line.Append(',');
        if (row.IsOutOfDistribution is bool ood) line.Append(ood ? "True" : "False");
        line.Append(',').Append(Quote(row.PredictedClass)).Append(',');
        AppendNumber(line, row.Confidence);
        foreach (var column in tapColumns)
        {
            line.Append(',');
            string tap = column[TapPrefix.Length..];
            if (row.LayerScores.Contains(tap) && row.LayerScores[tap] is double value) AppendNumber(line, value);
        }
        line.Append(',').Append(Quote(row.Error)).Append('\n');
    }

    private static void AppendNumber(StringBuilder line, double? value)
    {
        if (value is double v) line.Append(v.ToString("R", CultureInfo.InvariantCulture));
    }

    private static string Quote(string text) => "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// Reads a results file from the start of <paramref name="stream"/>, handing each good row to
    /// <paramref name="row"/>. Never throws for a bad row: the scan says where the good part ends and which
    /// rows could not be read; a file that is not a results file at all is an error.
    /// </summary>
    public static ResultsScan Scan(Stream stream, string path, Action<ResultRow>? row, Action<string[]>? header = null)
    {
        var reader = new CsvRecordReader(stream);
        string[]? columns = null;
        var damaged = new List<(long Line, string Why)>();
        long goodEnd = 0;
        bool damagedBeforeGood = false;
        long rows = 0;
        while (reader.Next(out var fields, out long line, out string? malformed))
        {
            if (columns is null)
            {
                if (malformed is not null || !IsHeader(fields))
                    throw new FssdResultsFileException(path, $"'{path}' is not a results file: its first line is not the header ({string.Join(",", Header(new[] { "Fssd_<tap>" }))}).");
                columns = fields.ToArray();
                header?.Invoke(columns);
                goodEnd = reader.End;
                continue;
            }
            ResultRow? parsed = null;
            string? why = malformed ?? Parse(fields, columns, line, out parsed);
            if (why is not null)
            {
                damaged.Add((line, why));
                continue;
            }
            if (damaged.Count > 0) damagedBeforeGood = true;
            goodEnd = reader.End;
            rows++;
            row?.Invoke(parsed!);
        }
        return new ResultsScan(columns, rows, goodEnd, reader.End, stream.Length, reader.TailLine, damaged, damagedBeforeGood);
    }

    /// <summary>The tap columns of a header, in order.</summary>
    public static IReadOnlyList<string> TapColumnsOf(IReadOnlyList<string> header) =>
        header.Skip(LeadingColumns.Count).Take(header.Count - LeadingColumns.Count - 1).ToArray();

    private static bool IsHeader(List<string> fields) =>
        fields.Count >= LeadingColumns.Count + 1 && fields.Take(LeadingColumns.Count).SequenceEqual(LeadingColumns) &&
        fields[^1] == ErrorColumn && fields.Skip(LeadingColumns.Count).Take(fields.Count - LeadingColumns.Count - 1).All(f => f.StartsWith(TapPrefix, StringComparison.Ordinal));

    private static string? Parse(List<string> f, string[] header, long line, out ResultRow? row)
    {
        row = null;
        if (f.Count != header.Length) return $"{f.Count} field(s), the header has {header.Length}";
        if (f[0].Length == 0) return "no path";
        string error = f[^1];
        double? score = null, confidence = null;
        bool? ood = null;
        if (!TryNumber(f[1], out score)) return $"Score '{f[1]}' is not a number";
        if (!TryNumber(f[4], out confidence)) return $"Confidence '{f[4]}' is not a number";
        if (f[2].Length > 0)
        {
            if (!bool.TryParse(f[2], out bool b)) return $"IsOutOfDistribution '{f[2]}' is neither True nor False";
            ood = b;
        }
        var taps = new double?[header.Length - LeadingColumns.Count - 1];
        for (int k = 0; k < taps.Length; k++)
        {
            string cell = f[LeadingColumns.Count + k];
            if (!TryNumber(cell, out taps[k])) return $"{header[LeadingColumns.Count + k]} '{cell}' is not a number";
        }
        if (error.Length == 0 && score is null) return "neither a score nor an error";
        row = new ResultRow(f[0], score, ood, f[3], confidence, taps, error, line);
        return null;
    }

    private static bool TryNumber(string cell, out double? value)
    {
        value = null;
        if (cell.Length == 0) return true;
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return false;
        value = v;
        return true;
    }
}

/// <summary>
/// What a scan of a results file found: the header (null for an empty file), how many good rows, where the
/// last good row ends, where the last complete line ends, and the rows that could not be read.
/// </summary>
public sealed record ResultsScan(string[]? Header, long Rows, long GoodEnd, long CompleteEnd, long Length, long TailLine,
    IReadOnlyList<(long Line, string Why)> Damaged, bool DamagedBeforeGood)
{
    /// <summary>Bytes after the last complete line: a row cut off by a killed writer.</summary>
    public bool HasIncompleteTail => Length > CompleteEnd;

    /// <summary>The file's tap columns, in order.</summary>
    public IReadOnlyList<string> TapColumns => Header is null ? Array.Empty<string>() : ResultsCsv.TapColumnsOf(Header);
}

/// <summary>
/// RFC 4180 records from a byte stream, with the offset where each ends. Works on bytes: the delimiters
/// are ASCII and never occur inside a UTF-8 sequence, so a field is decoded only once it is whole.
/// </summary>
internal sealed class CsvRecordReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _pos;
    private int _len;
    private long _bufferOffset;
    private long _line = 1;
    private readonly ArrayBufferWriter<byte> _field = new();

    public CsvRecordReader(Stream stream)
    {
        _stream = stream;
        _stream.Position = 0;
        _bufferOffset = 0;
        // A BOM (a file saved by an editor) is not part of the header.
        Fill();
        if (_len >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
        {
            _pos = 3;
            End = 3;
        }
    }

    /// <summary>The offset just past the last complete record (its line end included).</summary>
    public long End { get; private set; }

    /// <summary>The line the incomplete last record starts on (once <see cref="Next"/> has returned false).</summary>
    public long TailLine { get; private set; }

    /// <summary>
    /// The next complete record; false at the end of the stream (bytes after the last line end are an
    /// incomplete record and are not returned). <paramref name="malformed"/> says why a record breaks the format.
    /// </summary>
    public bool Next(out List<string> fields, out long line, out string? malformed)
    {
        fields = new List<string>();
        line = _line;
        malformed = null;
        _field.Clear();
        bool inQuotes = false, afterQuote = false, fieldStarted = false;
        while (true)
        {
            if (_pos == _len && !Fill())
            {
                TailLine = line;
                return false;
            }
            byte b = _buffer[_pos++];
            if (b == 0) malformed ??= "a NUL byte (an interrupted write)";
            if (inQuotes)
            {
                if (b == (byte)'"') { inQuotes = false; afterQuote = true; }
                else
                {
                    if (b == (byte)'\n') _line++;
                    _field.Write(new ReadOnlySpan<byte>(in b));
                }
                continue;
            }
            if (afterQuote && b == (byte)'"')
            {
                _field.Write(new ReadOnlySpan<byte>(in b));
                inQuotes = true;
                afterQuote = false;
                continue;
            }
            if (b == (byte)',')
            {
                fields.Add(Decode());
                afterQuote = fieldStarted = false;
                continue;
            }
            if (b == (byte)'\n')
            {
                fields.Add(Decode());
                _line++;
                End = _bufferOffset + _pos;
                return true;
            }
            // CR of a CR LF line end (a file saved on Windows); never part of an unquoted field.
            if (b == (byte)'\r') continue;
            if (b == (byte)'"' && !fieldStarted)
            {
                inQuotes = fieldStarted = true;
                continue;
            }
            if (afterQuote) malformed ??= "text after a closing quote";
            fieldStarted = true;
            _field.Write(new ReadOnlySpan<byte>(in b));
        }
    }

    private string Decode()
    {
        var text = Encoding.UTF8.GetString(_field.WrittenSpan);
        _field.Clear();
        return text;
    }

    private bool Fill()
    {
        _bufferOffset += _len;
        _len = _stream.Read(_buffer, 0, _buffer.Length);
        _pos = 0;
        return _len > 0;
    }
}
