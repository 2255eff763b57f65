using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

[Collection(TorchRandomCollection.Name)]
public class PrecisionTests
{
    private static LoadedModel Import(string fixture, string? architecture) => FssdSession.Current.Models.GetOrLoad(
        new ModelLoadRequest { Path = ModelReference.FixturePath(fixture), Architecture = architecture }, FssdSession.Current.Device, out _);

    [Theory]
    [InlineData("lenet.pt", "LeNet", "lenet.reference.json")]
    [InlineData("resnet18_cifar.pt", "ResNet18", "resnet18_cifar.reference.json")]
    public void The_bfloat16_copy_computes_its_convolutions_in_bfloat16_and_agrees_with_PyTorch_to_bfloat16_rounding(string fixture, string architecture, string reference)
    {
        var model = Import(fixture, architecture);
        Assert.True(model.SupportsBFloat16);
        var twin = model.InPrecision(FssdPrecision.BFloat16)!;
        Assert.Same(twin, model.InPrecision(FssdPrecision.BFloat16));
        Assert.Same(model, model.InPrecision(FssdPrecision.Float32));

        // Every weight but the first convolution's and the fully connected layers' is bfloat16; the model itself stays float32.
        var dtypes = twin.Network.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.dtype);
        Assert.Equal(ScalarType.Float32, dtypes["conv1.weight"]);
        Assert.All(dtypes.Where(p => p.Key.StartsWith("fc", StringComparison.Ordinal)), p => Assert.Equal(ScalarType.Float32, p.Value));
        var reduced = dtypes.Where(p => p.Value == ScalarType.BFloat16).Select(p => p.Key).ToList();
        Assert.Contains(architecture == "LeNet" ? "conv2.weight" : "layer4.1.conv2.weight", reduced);
        Assert.All(model.Network.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));

        // Logits and taps within bfloat16's rounding of PyTorch's float32 values, and not equal to them (it did round).
        var expected = ModelReference.Load(reference);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(expected.Input, expected.InputShape);
        using var output = twin.Forward(x);
        var logits = output.Logits.to_type(ScalarType.Float32).data<float>().ToArray();
        double error = ModelReference.RelativeError(logits, expected.Logits);
        Assert.True(error <= 3e-2, $"bfloat16 logits differ from PyTorch's by {error:E2}");
        Assert.True(error > 1e-6, $"bfloat16 logits equal float32 ones to {error:E2}: nothing was computed in bfloat16");
        using var precise = model.Forward(x);
        Assert.True(ModelReference.RelativeError(precise.Logits.data<float>().ToArray(), expected.Logits) <= 1e-5, "the float32 model is unchanged");
    }

    [Fact]
    public void A_bfloat16_scorer_keeps_the_float32_step_and_scores_within_bfloat16_rounding_of_PyTorch()
    {
        var model = Import("lenet.pt", "LeNet");
        using var doc = JsonDocument.Parse(File.ReadAllText(ScoringTests.FssdFixture("lenet.fssd.json")));
        var root = doc.RootElement;
        var images = root.GetProperty("images").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => (byte)v.GetInt32())).ToArray();
        using var bytes = tensor(images, new long[] { 6, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        var center = ScoringTests.PyTorchCenter(model);
        using var reduced = new FssdScorer(model, center, Enumerable.Range(0, 4).ToArray(), FssdPrecision.BFloat16);
        using var full = new FssdScorer(model, center, Enumerable.Range(0, 4).ToArray());
        Assert.Equal(FssdPrecision.BFloat16, reduced.Precision);
        Assert.Equal(FssdPrecision.Float32, full.Precision);
        double epsilon = root.GetProperty("epsilon").GetDouble();
        foreach (var (variant, eps, mode) in new[] { ("zero", 0.0, PerturbationMode.Sign), ("sign", epsilon, PerturbationMode.Sign), ("standardized", epsilon, PerturbationMode.Standardized) })
        {
            var scores = reduced.Score(input, eps, mode);
            var exact = full.Score(input, eps, mode);
            Assert.Equal(exact.Predicted, scores.Predicted);
            double largest = 0;
            var expected = root.GetProperty("scores").GetProperty(variant);
            for (int k = 0; k < 4; k++)
            {
                var reference = expected.GetProperty(model.Taps[k].Name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
                for (int i = 0; i < 6; i++)
                {
                    double relative = Math.Abs(scores.TapScores[i, k] - reference[i]) / Math.Abs(reference[i]);
                    Assert.True(relative <= 2e-2, $"{variant} {model.Taps[k].Name}[{i}]: bfloat16 {scores.TapScores[i, k]}, PyTorch {reference[i]}");
                    largest = Math.Max(largest, Math.Abs(scores.TapScores[i, k] - exact.TapScores[i, k]) / Math.Abs(exact.TapScores[i, k]));
                }
            }
            Assert.True(largest > 1e-6, $"{variant}: bfloat16 scores equal float32 ones: nothing was computed in bfloat16");
        }
    }

    [Fact]
    public void Networks_that_cannot_be_converted_score_in_float32_and_say_so()
    {
        var model = Import("lenet.onnx", null);
        Assert.False(model.SupportsBFloat16);
        Assert.Null(model.InPrecision(FssdPrecision.BFloat16));
        var center = CenterEstimator.FromNoise(model, 8, 0, CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, new[] { 0 }, FssdPrecision.BFloat16);
        Assert.Equal(FssdPrecision.Float32, scorer.Precision);
    }

    [Fact]
    public void The_session_uses_bfloat16_on_a_CPU_only_where_the_processor_computes_it()
    {
        Assert.Equal((FssdPrecision.Float32, ""), FssdSession.ScoringPrecision(FssdPrecision.Float32, CPU));
        var (precision, note) = FssdSession.ScoringPrecision(FssdPrecision.BFloat16, CPU);
        if (ProcessorFeatures.HasBFloat16)
        {
            Assert.Equal(FssdPrecision.BFloat16, precision);
            Assert.Equal("", note);
        }
        else
        {
            Assert.Equal(FssdPrecision.Float32, precision);
            Assert.Contains("AVX512-BF16", note);
        }
    }

    [Fact]
    public void The_instruction_sets_found_agree_with_the_kernels_own_list()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            Assert.Empty(ProcessorFeatures.InstructionSets);
            Assert.False(ProcessorFeatures.HasBFloat16);
            return;
        }
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, ProcessorFeatures.InstructionSets.Contains("AVX2"));
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, ProcessorFeatures.InstructionSets.Contains("AVX512F"));
        // On Linux the kernel lists what CPUID says; the probe must agree with it on bfloat16.
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
        {
            var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(flags.Contains("avx512_bf16"), ProcessorFeatures.InstructionSets.Contains("AVX512-BF16"));
            Assert.Equal(flags.Contains("amx_bf16") && flags.Contains("amx_tile"), ProcessorFeatures.InstructionSets.Contains("AMX-BF16"));
            Assert.Equal(flags.Contains("avx512_bf16") || (flags.Contains("amx_bf16") && flags.Contains("amx_tile")), ProcessorFeatures.HasBFloat16);
        }
    }
}
