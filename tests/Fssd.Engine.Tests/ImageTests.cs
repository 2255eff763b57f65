using System;
using System.IO;
using System.Linq;
using Fssd.Engine.Data;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

public class ImageTests
{
    public ImageTests() => Runtime.NativeRuntime.EnsureLoaded();

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)((i * 37 + seed * 101) % 256)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Png_files_decode_to_exactly_the_pixels_written(int channels)
    {
        var pixels = Pattern(17 * 23 * channels, channels);
        string path = Path.Combine(Path.GetTempPath(), $"fssd-png-{Guid.NewGuid():N}.png");
        try
        {
            PngWriter.Write(path, pixels, 17, 23, channels);
            var decoded = ImageDecoder.Decode(path, channels);
            Assert.Equal((17, 23, channels), (decoded.Height, decoded.Width, decoded.Channels));
            Assert.Equal(pixels, decoded.Pixels);
            // As stored: a gray PNG stays gray, an RGB one RGB.
            Assert.Equal(channels, ImageDecoder.Decode(path, 0).Channels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Gray_is_the_luma_PIL_computes()
    {
        // PIL's convert("L"): L = R*299/1000 + G*587/1000 + B*114/1000, in 16-bit fixed point.
        var rgb = new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 90 };
        var gray = DatasetReader.ConvertChannels(new RawImage(rgb, 1, 4, 3), 1);
        Assert.Equal(new byte[] { 76, 150, 29, 131 }, gray.Pixels); // PIL 9 gives [76, 150, 29, 131]
    }

    [Fact]
    public void Resize_matches_torch_interpolate_bilinear_antialiased_where_it_shrinks()
    {
        var pixels = Pattern(13 * 9 * 3, 5);
        var image = new RawImage(pixels, 13, 9, 3);
        // Enlarging, shrinking, and one axis each way; antialiasing changes only the shrinking axes.
        foreach (var (h, w) in new[] { (28, 28), (5, 4), (13, 20), (4, 20), (2, 1) })
        {
            var ours = ImageResize.Resize(image, h, w);
            using var input = tensor(pixels.Select(b => (float)b).ToArray(), new long[] { 1, 13, 9, 3 }).permute(0, 3, 1, 2);
            using var resized = nn.functional.interpolate(input, new long[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            var expected = resized.permute(0, 2, 3, 1).contiguous().data<float>().ToArray();
            Assert.Equal(expected.Length, ours.Pixels.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(ours.Pixels[i] - expected[i]) <= 0.5 + 1e-3, $"{h}x{w} element {i}: ours {ours.Pixels[i]}, torch {expected[i]}");
        }
    }

    [Fact]
    public void Enlarging_is_plain_bilinear_interpolation()
    {
        var pixels = Pattern(7 * 5, 3);
        var ours = ImageResize.Resize(new RawImage(pixels, 7, 5, 1), 28, 28);
        using var input = tensor(pixels.Select(b => (float)b).ToArray(), new long[] { 1, 1, 7, 5 });
        using var resized = nn.functional.interpolate(input, new long[] { 28, 28 }, mode: InterpolationMode.Bilinear, align_corners: false);
        var expected = resized.contiguous().data<float>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(ours.Pixels[i] - expected[i]) <= 0.5 + 1e-3, $"element {i}");
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_an_error_naming_it()
    {
        var e = Assert.Throws<FssdDataException>(() => ImageDecoder.Decode(new byte[] { 1, 2, 3, 4, 5 }, 1, "notes.png"));
        Assert.Contains("notes.png", e.Message);
        var truncated = Assert.Throws<FssdDataException>(() => ImageDecoder.Decode(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0 }, 1, "cut.png"));
        Assert.Contains("cut.png", truncated.Message);
    }
}
