using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Fssd.Engine.Data;
using Fssd.Tests.Hostile;
using Xunit;
using Xunit.Abstractions;

namespace Fssd.Engine.Tests;

/// <summary>Decoding files nobody has looked at: every file one result, never a crash, memory bounded.</summary>
public sealed class HostileImageTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"fssd-hostile-{Guid.NewGuid():N}");
    private readonly ITestOutputHelper _output;

    public HostileImageTests(ITestOutputHelper output)
    {
        _output = output;
        Runtime.NativeRuntime.EnsureLoaded();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static IEnumerable<string> Fixtures() =>
        new[] { "cmyk.jpg", "frame.gif", "lossless.webp", "rgba.png", "gray16.png" }
            .Select(f => Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "images", f));

    [Fact]
    public void Every_hostile_file_decodes_or_is_one_error_naming_it_and_every_good_file_decodes()
    {
        var corpus = HostileCorpus.Write(_folder, seed: 20261202, mutations: 300, Fixtures());
        int decoded = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        // In parallel, as Measure-Fssd decodes: the memory budget must hold across threads.
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(corpus, new ParallelOptions { MaxDegreeOfParallelism = 4 }, file =>
        {
            try
            {
                var image = ImageDecoder.DecodeAt(file.Path, 1, 28, 28);
                if (image.Pixels.Length != 28 * 28) failures.Add($"{file}: {image.Pixels.Length} bytes");
                if (file.Expect == Expectation.Bad) failures.Add($"{file}: decoded, expected an error");
                Interlocked.Increment(ref decoded);
            }
            catch (FssdDataException e)
            {
                if (!e.Message.Contains(file.Path, StringComparison.Ordinal)) failures.Add($"{file}: error does not name the file: {e.Message}");
                if (file.Expect == Expectation.Good) failures.Add($"{file}: refused, expected an image: {e.Message}");
                Interlocked.Increment(ref refused);
            }
            catch (Exception e)
            {
                failures.Add($"{file}: {e.GetType().Name} escaped: {e.Message}");
            }
        });
        _output.WriteLine($"{corpus.Count} files: {decoded} decoded, {refused} refused, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Empty(failures);
        Assert.Equal(corpus.Count, decoded + refused);
        Assert.Equal(0, DecodeMemory.InUse);
    }

    [Fact]
    public void A_declared_size_above_the_limit_is_refused_with_the_size_and_how_to_raise_it()
    {
        var corpus = HostileCorpus.Write(_folder, 1, 0, Array.Empty<string>());
        var wrap = corpus.Single(f => f.Path.EndsWith("wrap-65536x16385.png", StringComparison.Ordinal));
        var e = Assert.Throws<FssdDataException>(() => ImageDecoder.DecodeAt(wrap.Path, 3, 28, 28));
        Assert.Contains("65536 x 16385", e.Message);
        Assert.Contains("Set-FssdContext -MaxImagePixels", e.Message);
        // The same file at its stored size, as Get-FssdSample reads it.
        Assert.Throws<FssdDataException>(() => ImageDecoder.Decode(wrap.Path, 0));
    }

    [Fact]
    public void A_raised_pixel_limit_lets_a_large_image_through_and_a_lowered_one_refuses_it()
    {
        var corpus = HostileCorpus.Write(_folder, 1, 0, Array.Empty<string>());
        var bomb = corpus.Single(f => f.Path.EndsWith("bomb-6000x6000.png", StringComparison.Ordinal)).Path;
        var saved = ImageLimits.Current;
        try
        {
            ImageLimits.Current = saved with { MaxPixels = 10_000_000 };
            var e = Assert.Throws<FssdDataException>(() => ImageDecoder.DecodeAt(bomb, 1, 28, 28));
            Assert.Contains("36 megapixels", e.Message);
            ImageLimits.Current = saved with { MaxPixels = 40_000_000, DecodeMemoryBytes = 64L << 20 };
            var memory = Assert.Throws<FssdDataException>(() => ImageDecoder.DecodeAt(bomb, 1, 28, 28));
            Assert.Contains("decode memory limit", memory.Message);
            ImageLimits.Current = saved with { MaxPixels = 40_000_000 };
            Assert.Equal(28 * 28, ImageDecoder.DecodeAt(bomb, 1, 28, 28).Pixels.Length);
        }
        finally
        {
            ImageLimits.Current = saved;
        }
    }

    [Fact]
    public void A_large_jpeg_is_decoded_at_reduced_scale_to_the_same_picture()
    {
        // A 4000 × 3000 JPEG of a smooth pattern: decoded at 1/8 for a 28 × 28 model, it must give the
        // picture the full decode gives after the same resize (within JPEG's own rounding).
        string path = Path.Combine(_folder, "large.jpg");
        Directory.CreateDirectory(_folder);
        int w = 4000, h = 3000;
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                rgb[(y * w + x) * 3] = (byte)(x * 255 / w);
                rgb[(y * w + x) * 3 + 1] = (byte)(y * 255 / h);
                rgb[(y * w + x) * 3 + 2] = (byte)(128 + 100 * Math.Sin(x / 300.0) * Math.Cos(y / 200.0));
            }
        JpegWriter.Write(path, rgb, h, w);
        var clock = Stopwatch.StartNew();
        var reduced = ImageDecoder.DecodeAt(path, 3, 28, 28);
        double reducedMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var full = ImageResize.Resize(ImageDecoder.Decode(path, 3), 28, 28);
        double fullMs = clock.Elapsed.TotalMilliseconds;
        _output.WriteLine($"4000x3000 JPEG to 28x28: reduced-scale decode {reducedMs:F0} ms, full decode and resize {fullMs:F0} ms");
        int worst = reduced.Pixels.Zip(full.Pixels, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 3, $"largest difference {worst}");
    }

    [Fact]
    public async Task A_pipe_or_a_directory_named_like_an_image_is_an_error_not_a_wait()
    {
        Directory.CreateDirectory(_folder);
        string folder = Path.Combine(_folder, "folder.png");
        Directory.CreateDirectory(folder);
        Assert.Contains("directory", Assert.Throws<FssdDataException>(() => ImageDecoder.DecodeAt(folder, 1, 28, 28)).Message);
        if (!OperatingSystem.IsLinux()) return;
        string fifo = Path.Combine(_folder, "pipe.png");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var decode = Task.Run(() => ImageDecoder.DecodeAt(fifo, 1, 28, 28));
        var first = await Task.WhenAny(decode, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(ReferenceEquals(first, decode), "decoding a pipe waited for a writer");
        var e = await Assert.ThrowsAsync<FssdDataException>(() => decode);
        Assert.Contains("not a regular file", e.Message);
    }
}
