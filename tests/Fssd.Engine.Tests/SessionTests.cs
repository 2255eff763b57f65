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
    public void Libtorch_computes_gradients()
    {
        _ = FssdSession.Current;
        using var x = torch.tensor(new float[] { 1, -2, 3 }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        Assert.Equal(new float[] { 2, -4, 6 }, x.grad!.data<float>().ToArray());
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
        Assert.Throws<ArgumentException>(() => DeviceSpec.Parse(text));

    [Fact]
    public void Cuda_on_a_cpu_build_says_so()
    {
        if (FssdSession.Backend != "cpu") return;
        var error = Assert.Throws<FssdRuntimeException>(() => FssdSession.Current.SetDevice("cuda"));
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
