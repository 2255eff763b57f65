using System;
using System.IO;
using Fssd.Engine;
using Fssd.Engine.Runtime;
using TorchSharp;
using Xunit;

namespace Fssd.Engine.Tests;

public class SessionTests
{
    [Fact]
    public void Libtorch_loads_from_the_module_folder_and_computes()
    {
        var session = FssdSession.Current;
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = torch.matmul(a, a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
        Assert.StartsWith("2.10", torch.__version__);
        Assert.Equal(Path.GetFullPath(Environment.GetEnvironmentVariable(NativeRuntime.DirectoryVariable)!),
            NativeRuntime.Directory);
        Assert.Equal("cpu", session.Describe().Device);
    }

    [Fact]
    public void The_session_is_created_once_and_shared_by_every_thread()
    {
        var sessions = new FssdSession[8];
        System.Threading.Tasks.Parallel.For(0, sessions.Length, i => sessions[i] = FssdSession.Current);
        Assert.All(sessions, s => Assert.Same(FssdSession.Current, s));
        Assert.Same(FssdSession.Current.Models, sessions[3].Models);
    }

    [Fact]
    public void Large_buffers_are_reused_between_batches_on_Linux()
    {
        _ = FssdSession.Current;
        if (!OperatingSystem.IsLinux())
        {
            Assert.StartsWith("off:", BlockCache.Status);
            return;
        }
        Assert.True(BlockCache.Active, BlockCache.Status);
        Assert.StartsWith("on (", FssdSession.Current.Describe().BlockCache);
        // A ~4 MiB buffer of a shape no other test uses (above the cache's 256 KiB floor): the second
        // round of the same shapes reuses the first one's blocks, and the values are as without the cache.
        var before = BlockCache.Stats()!;
        for (int round = 0; round < 2; round++)
        {
            using var x = torch.full(new long[] { 1021, 1031 }, 2.0f);
            using var y = x.mul(3.0f);
            using var last = y[1020, 1030];
            Assert.Equal(6.0f, last.item<float>());
        }
        var after = BlockCache.Stats()!;
        Assert.True(after.Hits >= before.Hits + 2, $"hits {before.Hits} -> {after.Hits}, misses {before.Misses} -> {after.Misses}");
        Assert.True(after.CachedBytes > 0);
    }

    [Fact]
    public void Small_allocations_and_foreign_frees_pass_through_the_cache()
    {
        _ = FssdSession.Current;
        // Small and large tensors alive together, freed in another order than made and remade from the
        // reused blocks: every value is the one written, and the cache stays within its 1 GiB bound.
        for (int round = 0; round < 3; round++)
        {
            var tensors = new System.Collections.Generic.List<torch.Tensor>();
            for (int i = 0; i < 64; i++) tensors.Add(torch.full(new long[] { 1 + (i % 7) * 40_000 }, (float)(i + 100 * round)));
            for (int i = 63; i >= 0; i -= 2)
            {
                using var sum = tensors[i].sum();
                Assert.Equal((double)(i + 100 * round) * tensors[i].shape[0], sum.item<float>(), 1e-3 * tensors[i].shape[0] * (i + 100 * round + 1));
                tensors[i].Dispose();
            }
            for (int i = 0; i < 64; i += 2)
            {
                using var max = tensors[i].max();
                using var min = tensors[i].min();
                Assert.Equal((float)(i + 100 * round), max.item<float>());
                Assert.Equal((float)(i + 100 * round), min.item<float>());
                tensors[i].Dispose();
            }
        }
        var stats = BlockCache.Stats();
        if (stats is not null) Assert.InRange(stats.CachedBytes, 0, 1L << 30);
    }

    [Theory]
    [InlineData("cpu", false, 0)]
    [InlineData("CUDA", true, 0)]
    [InlineData("cuda:3", true, 3)]
    public void Device_names_parse(string text, bool cuda, int index)
    {
        var spec = DeviceSpec.Parse(text);
        Assert.Equal(cuda, spec.IsCuda);
        Assert.Equal(index, spec.Index);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    public void Bad_device_names_are_refused(string text) =>
        Assert.Equal(text, Assert.Throws<FssdInvalidDeviceException>(() => DeviceSpec.Parse(text)).Device);

    [SkippableCpuBuildFact]
    public void Cuda_on_a_cpu_build_says_so()
    {
        var error = Assert.Throws<FssdDeviceUnavailableException>(() => FssdSession.Current.SetDevice("cuda"));
        Assert.Contains("CPU build", error.Message);
        Assert.Equal("cpu", FssdSession.Current.Describe().Device);
    }

    [Theory]
    [InlineData("libtorch_cpu.so", "torch_cpu")]
    [InlineData("LibTorchSharp", "LibTorchSharp")]
    [InlineData("libLibTorchSharp.so", "LibTorchSharp")]
    [InlineData("torch_cpu.dll", "torch_cpu")]
    [InlineData("libc10.so", "c10")]
    public void Native_names_normalize(string name, string expected) =>
        Assert.Equal(expected, NativePlatform.NormalizeName(name));
}

/// <summary>A test that only means something on a CPU build of the engine: skipped, with the reason, on a CUDA build.</summary>
public sealed class SkippableCpuBuildFactAttribute : FactAttribute
{
    public SkippableCpuBuildFactAttribute()
    {
        if (FssdSession.Backend != "cpu") Skip = $"This engine is a {FssdSession.Backend} build; the test checks what a CPU build says about CUDA.";
    }
}
