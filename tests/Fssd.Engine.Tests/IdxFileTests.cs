using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Fssd.Engine.Data;
using Xunit;

namespace Fssd.Engine.Tests;

public class IdxFileTests
{
    private const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    private static byte[] Idx(byte type, int[] shape, int dataBytes)
    {
        var header = new byte[] { 0, 0, type, (byte)shape.Length }
            .Concat(shape.SelectMany(d => BitConverter.GetBytes(d).Reverse())).ToArray();
        return header.Concat(Enumerable.Range(0, dataBytes).Select(i => (byte)i)).ToArray();
    }

    [Fact]
    public void Reads_plain_and_gzipped_files_alike()
    {
        byte[] bytes = Idx(0x08, new[] { 3, 2, 2 }, 12);
        string plain = Path.GetTempFileName(), gz = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(plain, bytes);
            using (var output = File.Create(gz))
            using (var zip = new GZipStream(output, CompressionLevel.Fastest))
                zip.Write(bytes);
            foreach (var path in new[] { plain, gz })
            {
                var idx = IdxFile.Read(path);
                Assert.Equal(new[] { 3, 2, 2 }, idx.Shape);
                Assert.Equal(3, idx.Count);
                Assert.Equal(4, idx.ItemSize);
                Assert.Equal(11, idx.Data[11]);
            }
        }
        finally
        {
            File.Delete(plain);
            File.Delete(gz);
        }
    }

    [Fact]
    public void A_header_that_disagrees_with_the_length_is_an_error_naming_both()
    {
        var e = Assert.Throws<FssdDataException>(() => IdxFile.Parse(Idx(0x08, new[] { 3, 2, 2 }, 11), "short.idx"));
        Assert.Contains("short.idx", e.Message);
        Assert.Contains("3x2x2 = 12 bytes", e.Message);
        Assert.Contains("holds 11", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3, 4, 5 }, "magic")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0 }, "type 0x0D")]
    [InlineData(new byte[] { 0, 0, 0x08, 3, 0, 0 }, "too short")]
    public void Files_that_are_not_byte_IDX_are_refused(byte[] bytes, string cause)
    {
        var e = Assert.Throws<FssdDataException>(() => IdxFile.Parse(bytes, "odd.idx"));
        Assert.Contains("odd.idx", e.Message);
        Assert.Contains(cause, e.Message);
    }

    [Fact]
    public void Reads_the_FashionMNIST_test_set_from_Debians_package()
    {
        string images = Path.Combine(FashionMnist, "t10k-images-idx3-ubyte.gz");
        Assert.True(File.Exists(images), $"{images} is missing: build.ps1 Test installs dataset-fashion-mnist (as root on Debian).");
        var x = IdxFile.Read(images);
        var y = IdxFile.Read(Path.Combine(FashionMnist, "t10k-labels-idx1-ubyte.gz"));
        Assert.Equal(new[] { 10000, 28, 28 }, x.Shape);
        Assert.Equal(new[] { 10000 }, y.Shape);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, y.Data.Count(l => l == c)));
        double mean = x.Data.Average(b => b / 255.0);
        Assert.InRange(mean, 0.280, 0.292); // FashionMNIST's pixel mean is about 0.286
    }
}
