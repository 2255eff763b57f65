using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Fssd.Engine.Models;
using Xunit;

namespace Fssd.Engine.Tests;

/// <summary>
/// Weights files made to hurt: code in pickles, shapes that overflow or reach past their storage, compressed
/// storages, safetensors headers that lie. Each is one <see cref="FssdModelException"/> naming the file.
/// </summary>
public sealed class HostileModelFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"fssd-hostile-models-{Guid.NewGuid():N}");

    public HostileModelFileTests()
    {
        Runtime.NativeRuntime.EnsureLoaded();
        Directory.CreateDirectory(_folder);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The opcodes torch.save writes (protocol 2), enough to build state_dicts and worse.</summary>
    private sealed class Pickle
    {
        private readonly MemoryStream _s = new();

        public Pickle() => Op(0x80, 2);
        public Pickle Op(params byte[] bytes) { _s.Write(bytes); return this; }
        public Pickle Global(string module, string name) => Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        public Pickle Str(string s) { var b = Encoding.UTF8.GetBytes(s); Op((byte)'X').Op(BitConverter.GetBytes(b.Length)); return Op(b); }
        public Pickle Int(long v) => v is >= 0 and < int.MaxValue ? Op((byte)'J').Op(BitConverter.GetBytes((int)v)) : Op(0x8A, 8).Op(BitConverter.GetBytes(v));
        public Pickle Mark() => Op((byte)'(');
        public Pickle Tuple() => Op((byte)'t');
        public Pickle Ints(IEnumerable<long> values) { Mark(); foreach (var v in values) Int(v); return Tuple(); }
        public Pickle Reduce() => Op((byte)'R');
        public Pickle OrderedDict() => Global("collections", "OrderedDict").Op((byte)')').Reduce();

        public Pickle Tensor(string name, string storageType, long numel, long[] shape, long[] stride, long offset = 0)
        {
            Str(name).Global("torch._utils", "_rebuild_tensor_v2").Mark();
            Mark().Str("storage").Global("torch", storageType).Str("0").Str("cpu").Int(numel).Tuple().Op((byte)'Q');
            Int(offset).Ints(shape).Ints(stride).Op(0x89).OrderedDict();
            return Tuple().Reduce();
        }

        public byte[] ToArray() => _s.ToArray().Concat(new[] { (byte)'.' }).ToArray();
    }

    private string Archive(string name, byte[] pickle, byte[]? storage, CompressionLevel level = CompressionLevel.NoCompression)
    {
        string path = Path.Combine(_folder, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(pickle);
        if (storage is not null)
            using (var s = zip.CreateEntry("archive/data/0", level).Open()) s.Write(storage);
        using (var s = zip.CreateEntry("archive/version", CompressionLevel.NoCompression).Open()) s.Write("3\n"u8);
        return path;
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static Pickle StateDict(Action<Pickle> items)
    {
        var p = new Pickle().OrderedDict().Mark();
        items(p);
        return p.Op((byte)'u');
    }

    [Fact]
    public void A_well_formed_archive_reads_its_tensor_with_shape_and_strides()
    {
        // A 2 × 3 view with strides (1, 2) of six floats: the transpose of a 3 × 2 matrix.
        var pickle = StateDict(p => p.Tensor("w", "FloatStorage", 6, new long[] { 2, 3 }, new long[] { 1, 2 })).ToArray();
        string path = Archive("good.pt", pickle, Floats(1, 2, 3, 4, 5, 6));
        var state = StateDictReader.Read(path, WeightsFormatDetector.Detect(path));
        using var w = state["w"];
        Assert.Equal(new long[] { 2, 3 }, w.shape);
        Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, w.data<float>().ToArray());
    }

    [Fact]
    public void A_pickle_that_calls_os_system_is_refused_and_nothing_runs()
    {
        string marker = Path.Combine(_folder, "ran");
        var pickle = new Pickle().Global("os", "system").Mark().Str($"touch {marker}").Tuple().Reduce().ToArray();
        string path = Archive("evil.pt", pickle, null);
        var e = Assert.Throws<FssdModelException>(() => StateDictReader.Read(path, WeightsFormat.PyTorchStateDict));
        Assert.Contains("os.system", e.Message);
        Assert.Contains(path, e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void A_whole_model_pickle_names_its_class_and_says_to_save_the_state_dict()
    {
        var pickle = new Pickle().Global("__main__", "Net").Op((byte)')').Reduce().ToArray();
        var e = Assert.Throws<FssdModelException>(() => StateDictReader.Read(Archive("model.pt", pickle, null), WeightsFormat.PyTorchStateDict));
        Assert.Contains("__main__.Net", e.Message);
        Assert.Contains("state_dict()", e.Message);
    }

    [Theory]
    [InlineData("ComplexFloatStorage", 6, new long[] { 2, 3 }, new long[] { 3, 1 }, "torch.ComplexFloatStorage")]
    [InlineData("FloatStorage", 6, new long[] { 4611686018427387904, 4 }, new long[] { 1, 1 }, "overflows 64 bits")]
    [InlineData("FloatStorage", 6, new long[] { 1000, 1000 }, new long[] { 1000, 1 }, "reaching past its storage")]
    [InlineData("FloatStorage", 1000000000, new long[] { 2, 3 }, new long[] { 3, 1 }, "should hold 1000000000")]
    [InlineData("FloatStorage", 6, new long[] { 2, -3 }, new long[] { 3, 1 }, "negative")]
    public void A_tensor_that_does_not_fit_its_storage_is_refused_before_anything_is_allocated(string storage, long numel, long[] shape, long[] stride, string expected)
    {
        var pickle = StateDict(p => p.Tensor("w", storage, numel, shape, stride)).ToArray();
        string path = Archive("bad.pt", pickle, Floats(1, 2, 3, 4, 5, 6));
        var e = Assert.Throws<FssdModelException>(() => StateDictReader.Read(path, WeightsFormat.PyTorchStateDict));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_compressed_storage_is_refused_as_a_possible_bomb()
    {
        var pickle = StateDict(p => p.Tensor("w", "FloatStorage", 4096, new long[] { 4096 }, new long[] { 1 })).ToArray();
        string path = Archive("bomb.pt", pickle, new byte[4096 * 4], CompressionLevel.Optimal);
        Assert.Contains("compressed", Assert.Throws<FssdModelException>(() => StateDictReader.Read(path, WeightsFormat.PyTorchStateDict)).Message);
    }

    [Fact]
    public void A_checkpoint_dictionary_of_numbers_is_not_a_state_dict()
    {
        var pickle = new Pickle().Op((byte)'}').Str("epoch").Int(3).Op((byte)'s').ToArray();
        var e = Assert.Throws<FssdModelException>(() => StateDictReader.Read(Archive("checkpoint.pt", pickle, null), WeightsFormat.PyTorchStateDict));
        Assert.Contains("'epoch'", e.Message);
    }

    private string Safetensors(string name, string header, byte[] data)
    {
        string path = Path.Combine(_folder, name);
        var json = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)json.Length).Concat(json).Concat(data).ToArray());
        return path;
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", null)]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,24]}}", "needs 4294967296 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,8],\"data_offsets\":[0,24]}}", "overflows 64 bits")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,2400]}}", "outside the 24 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"C64\",\"shape\":[3],\"data_offsets\":[0,24]}}", "dtype 'C64'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},\"v\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}", "overlap")]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("{\"w\": ", "not valid JSON")]
    public void Safetensors_headers_are_checked_against_the_file(string header, string? expected)
    {
        string path = Safetensors("t.safetensors", header, Floats(1, 2, 3, 4, 5, 6));
        if (expected is null)
        {
            using var w = SafetensorsFile.Read(path)["w"];
            Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, w.data<float>().ToArray());
            return;
        }
        var e = Assert.Throws<FssdModelException>(() => StateDictReader.Read(path, WeightsFormat.Safetensors));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_safetensors_header_longer_than_the_file_is_refused()
    {
        string path = Path.Combine(_folder, "long.safetensors");
        File.WriteAllBytes(path, BitConverter.GetBytes(ulong.MaxValue - 1).Concat("{}"u8.ToArray()).ToArray());
        Assert.Throws<FssdModelException>(() => StateDictReader.Read(path, WeightsFormat.Safetensors));
    }

    [Fact]
    public void Safetensors_written_here_read_back_bit_for_bit()
    {
        using var a = TorchSharp.torch.randn(3, 4);
        using var b = TorchSharp.torch.arange(5, dtype: TorchSharp.torch.ScalarType.Int64);
        string path = Path.Combine(_folder, "round.safetensors");
        SafetensorsFile.Write(path, new[] { KeyValuePair.Create("a", a), KeyValuePair.Create("layer.b", b) });
        var back = SafetensorsFile.Read(path);
        Assert.Equal(a.data<float>().ToArray(), back["a"].data<float>().ToArray());
        Assert.Equal(b.data<long>().ToArray(), back["layer.b"].data<long>().ToArray());
        foreach (var t in back.Values) t.Dispose();
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));
    }
}
