using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Onnx;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>
/// Whole ONNX models run by the module against ONNX Runtime (the reference), and against the built-in
/// networks with the same weights for taps and input gradients; the pretrained ResNet18; and files
/// that must fail with a clear error.
/// </summary>
public class OnnxModelTests
{
    private const double ModelTolerance = 1e-4;
    private readonly ITestOutputHelper _output;

    public OnnxModelTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private static LoadedModel Import(ModelLoadRequest request) =>
        FssdSession.Current.Models.GetOrLoad(request, FssdSession.Current.Device, out _);

    private static LoadedModel Import(string fixture, params string[] layers) => Import(new ModelLoadRequest
    {
        Path = ModelReference.FixturePath(fixture), Layers = layers.Length == 0 ? null : layers,
    });

    private static string PretrainedManifest()
    {
        string path = Path.Combine(NativeSetup.RepositoryRoot(), "out", "Fssd", "models", "pretrained", "resnet18-imagenet.yaml");
        Assert.True(File.Exists(path), $"'{path}' is missing: build.ps1 Build puts the pretrained ResNet18 there.");
        return path;
    }

    private static float[] Random(int count, int seed, double low, double high)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(low + (high - low) * random.NextDouble())).ToArray();
    }

    /// <summary>Runs an ONNX file in ONNX Runtime on one float input; returns its first output.</summary>
    private static float[] RunOnnxRuntime(string path, float[] input, int[] shape)
    {
        using var session = new InferenceSession(path);
        string name = session.InputMetadata.Keys.First();
        var tensor = new DenseTensor(input, shape);
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(name, tensor) });
        return results.First().AsEnumerable<float>().ToArray();
    }

    private static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    private double CheckAgainstOnnxRuntime(string fixture, int[] shape, int seed)
    {
        var model = Import(fixture);
        var input = Random(shape.Aggregate(1, (a, b) => a * b), seed, -2, 2);
        var expected = RunOnnxRuntime(ModelReference.FixturePath(fixture), input, shape);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var output = model.Forward(tensor(input, shape.Select(d => (long)d).ToArray()));
        double error = ModelReference.RelativeError(Values(output.Logits), expected);
        _output.WriteLine($"{fixture}: largest difference from ONNX Runtime {error:E2} (relative to max(1, |logit|))");
        return error;
    }

    [Fact]
    public void LeNet_export_matches_ONNX_Runtime_within_1e_4()
    {
        double error = CheckAgainstOnnxRuntime("lenet.onnx", new[] { 4, 1, 28, 28 }, 11);
        Assert.True(error <= ModelTolerance, $"logits differ from ONNX Runtime by {error:E2}");
    }

    [Fact]
    public void ResNet18_CIFAR_export_matches_ONNX_Runtime_within_1e_4()
    {
        double error = CheckAgainstOnnxRuntime("resnet18_cifar.onnx", new[] { 3, 3, 32, 32 }, 12);
        Assert.True(error <= ModelTolerance, $"logits differ from ONNX Runtime by {error:E2}");
    }

    [Fact]
    public void LeNet_export_matches_the_PyTorch_reference_logits()
    {
        var model = Import("lenet.onnx");
        var reference = ModelReference.Load("lenet.reference.json");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var output = model.Forward(tensor(reference.Input, reference.InputShape));
        double error = ModelReference.RelativeError(Values(output.Logits), reference.Logits);
        Assert.True(error <= 1e-5, $"logits differ from PyTorch by {error:E2}");
    }

    [Fact]
    public void Pretrained_ResNet18_with_its_preprocessing_matches_ONNX_Runtime_within_1e_4()
    {
        var model = Import(new ModelLoadRequest { Path = PretrainedManifest() });
        string directory = Path.GetDirectoryName(PretrainedManifest())!;
        double worst = 0;
        for (int seed = 1; seed <= 2; seed++)
        {
            // Pixels 0..255, as the preprocessing graph reads them (the file fixes a batch of one).
            var pixels = Random(3 * 224 * 224, seed, 0, 255);
            var shape = new[] { 1, 3, 224, 224 };
            var preprocessed = RunOnnxRuntime(Path.Combine(directory, "ResNetPreprocess.onnx"), pixels, shape);
            var expected = RunOnnxRuntime(Path.Combine(directory, "ResNet18.onnx"), preprocessed, shape);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var bytes = tensor(pixels, new long[] { 1, 3, 224, 224 });
            // The module's input spec scales [0, 1] by std 1/255: the network reads the pixels themselves.
            using var full = 255.0.ToScalar();
            var input = ImageTensors.Normalize(bytes.div(full), model.Info.InputSpec);
            using var output = model.Forward(input);
            worst = Math.Max(worst, ModelReference.RelativeError(Values(output.Logits), expected));
        }
        _output.WriteLine($"pretrained ResNet18: largest difference from ONNX Runtime {worst:E2} (relative to max(1, |feature|))");
        Assert.True(worst <= ModelTolerance, $"the pooled feature differs from ONNX Runtime by {worst:E2}");
    }

    /// <summary>Σ over outputs and batch of the L2 norm of each output, and its input gradient.</summary>
    private static (float[][] Outputs, float[] Gradient) NormsAndGradient(ITappedNetwork network, Tensor x, int[] outputs)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = x.detach().requires_grad_(true);
        var all = network.Forward(input);
        var chosen = outputs.Select(i => all[i]).ToArray();
        Tensor objective = chosen[0].flatten(1).norm(1).sum();
        for (int i = 1; i < chosen.Length; i++) objective = objective.add(chosen[i].flatten(1).norm(1).sum(), HeldScalars.One);
        var gradient = autograd.grad(new[] { objective }, new[] { input })[0];
        return (chosen.Select(Values).ToArray(), Values(gradient));
    }

    [Fact]
    public void LeNet_export_taps_and_input_gradients_match_the_built_in_LeNet_with_the_same_weights()
    {
        var onnx = Import("lenet.onnx");
        var builtIn = Import(new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" });
        using var scope = NewDisposeScope();
        var x = tensor(Random(4 * 28 * 28, 21, -1, 2), new long[] { 4, 1, 28, 28 });
        // ONNX: logits, relu(conv1), relu(conv2), relu(fc1); built-in: logits, conv1, conv2, fc1.
        var (ours, ourGradient) = NormsAndGradient(onnx.Network, x, new[] { 0, 1, 2, 3 });
        var (theirs, theirGradient) = NormsAndGradient(builtIn.Network, x, new[] { 0, 1, 2, 3 });
        for (int k = 0; k < ours.Length; k++)
        {
            double e = ModelReference.RelativeError(ours[k], theirs[k]);
            Assert.True(e <= ModelTolerance, $"output {k} differs by {e:E2}");
        }
        double error = ModelReference.RelativeError(ourGradient, theirGradient);
        _output.WriteLine($"LeNet input gradient: largest difference from the built-in LeNet {error:E2}");
        Assert.True(error <= ModelTolerance, $"the input gradient differs from the built-in LeNet's by {error:E2}");
    }

    [Fact]
    public void ResNet18_CIFAR_export_input_gradients_match_the_built_in_ResNet18()
    {
        var onnx = Import("resnet18_cifar.onnx");
        var builtIn = Import(new ModelLoadRequest { Path = ModelReference.FixturePath("resnet18_cifar.pt"), Architecture = "ResNet18" });
        Assert.Equal(5, onnx.Taps.Count);
        using var scope = NewDisposeScope();
        var x = tensor(Random(2 * 3 * 32 * 32, 22, -2, 2), new long[] { 2, 3, 32, 32 });
        // ONNX: logits, layer1..layer4, flattened pool; built-in: logits, stem, layer1..layer4, penultimate.
        var (ours, ourGradient) = NormsAndGradient(onnx.Network, x, new[] { 0, 1, 2, 3, 4, 5 });
        var (theirs, theirGradient) = NormsAndGradient(builtIn.Network, x, new[] { 0, 2, 3, 4, 5, 6 });
        for (int k = 0; k < ours.Length; k++)
        {
            double e = ModelReference.RelativeError(ours[k], theirs[k]);
            Assert.True(e <= ModelTolerance, $"output {k} differs by {e:E2}");
        }
        double error = ModelReference.RelativeError(ourGradient, theirGradient);
        _output.WriteLine($"ResNet18-CIFAR input gradient: largest difference from the built-in ResNet18 {error:E2}");
        Assert.True(error <= ModelTolerance, $"the input gradient differs from the built-in ResNet18's by {error:E2}");
    }

    [Fact]
    public void Default_taps_are_the_stage_outputs_and_the_classifier_input()
    {
        var lenet = Import("lenet.onnx");
        Assert.Equal(ArchitectureCatalogName, lenet.Info.Architecture);
        Assert.True(lenet.Info.HasClassifier);
        Assert.Equal(10, lenet.Info.ClassNames.Count);
        // relu(conv1) at 26x26 before conv2 shrinks it, relu(conv2) before the max-pool, relu(fc1) into the classifier.
        Assert.Equal(new[] { "/Relu_output_0", "/Relu_1_output_0", "/Relu_2_output_0" }, lenet.Info.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 32, 64, 128 }, lenet.Info.Layers.Select(l => l.FeatureSize));
        Assert.Equal(new[] { TapReduction.SpatialMean, TapReduction.SpatialMean, TapReduction.Flatten }, lenet.Info.Layers.Select(l => l.Reduction));
        Assert.Equal((1, 28, 28), (lenet.Info.InputSpec.Channels, lenet.Info.InputSpec.Height, lenet.Info.InputSpec.Width));

        var resnet = Import("resnet18_cifar.onnx");
        Assert.Equal(new[]
        {
            "/layer1/layer1.1/relu_1/Relu_output_0", "/layer2/layer2.1/relu_1/Relu_output_0", "/layer3/layer3.1/relu_1/Relu_output_0",
            "/layer4/layer4.1/relu_1/Relu_output_0", "/Flatten_output_0",
        }, resnet.Info.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 64, 128, 256, 512, 512 }, resnet.Info.Layers.Select(l => l.FeatureSize));
    }

    private const string ArchitectureCatalogName = Fssd.Engine.Models.Architectures.ArchitectureCatalog.Onnx;

    [Fact]
    public void Any_node_output_can_be_a_tap_by_name()
    {
        var model = Import("lenet.onnx", "/conv2/Conv_output_0", "/MaxPool_output_0");
        Assert.Equal(new[] { 64, 64 }, model.Info.Layers.Select(l => l.FeatureSize));
        var e = Assert.Throws<FssdModelException>(() => Import("lenet.onnx", "conv9"));
        Assert.Contains("'conv9'", e.Message);
        Assert.Contains("/Relu_2_output_0", e.Message);
    }

    [Fact]
    public void Pretrained_ResNet18_is_a_feature_extractor_tapped_at_each_stage()
    {
        var model = Import(new ModelLoadRequest { Path = PretrainedManifest() });
        _output.WriteLine($"pretrained ResNet18 loaded in {model.Info.LoadMilliseconds:F0} ms; taps {string.Join(", ", model.Info.Layers)}");
        Assert.False(model.Info.HasClassifier);
        Assert.Empty(model.Info.ClassNames);
        Assert.Equal(new[] { "ReLU253_Output_0", "ReLU283_Output_0", "ReLU315_Output_0", "ReLU347_Output_0", "ReLU393_Output_0", "Pooling395_Output_0" },
            model.Info.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 64, 64, 128, 256, 512, 512 }, model.Info.Layers.Select(l => l.FeatureSize));
        Assert.Equal((3, 224, 224, ColorMode.Rgb), (model.Info.InputSpec.Channels, model.Info.InputSpec.Height, model.Info.InputSpec.Width, model.Info.InputSpec.ColorMode));
        var image = new RawImage(new byte[3 * 40 * 30], 40, 30, 3);
        var e = Assert.Throws<FssdNoClassifierException>(() => Predictor.Predict(model, new[] { image }));
        Assert.Contains("no classifier head", e.Message);
    }

    [Fact]
    public void FSSD_scores_a_model_without_a_classifier_and_predicts_nothing()
    {
        var model = Import(new ModelLoadRequest { Path = PretrainedManifest() });
        var center = CenterEstimator.FromNoise(model, 4, 0, CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, Enumerable.Range(0, model.Taps.Count).ToArray());
        using var scope = NewDisposeScope();
        var x = tensor(Random(2 * 3 * 224 * 224, 5, 0, 255), new long[] { 2, 3, 224, 224 });
        var scores = scorer.Score(x, 0.002, PerturbationMode.Sign);
        Assert.Empty(scores.Predicted);
        Assert.Empty(scores.Confidence);
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < model.Taps.Count; k++)
                Assert.True(double.IsFinite(scores.TapScores[i, k]) && scores.TapScores[i, k] > 0, $"input {i} tap {k}: {scores.TapScores[i, k]}");
    }

    [Fact]
    public void Naming_classes_of_a_model_without_a_classifier_is_an_error()
    {
        string network = Path.Combine(Path.GetDirectoryName(PretrainedManifest())!, "ResNet18.onnx");
        var e = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = network, ClassNames = new[] { "a", "b" } }));
        Assert.Contains("no classifier head", e.Message);
        var wrongCount = Assert.Throws<FssdModelException>(() =>
            Import(new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.onnx"), ClassNames = new[] { "a", "b", "c" } }));
        Assert.Contains("3 classes", wrongCount.Message);
    }

    [Fact]
    public void Channels_last_convolutions_give_the_plain_layouts_outputs_and_gradients()
    {
        _ = FssdSession.Current;
        string path = ModelReference.FixturePath("resnet18_cifar.onnx");
        using var plain = OnnxNetwork.Load(path);
        using var prepared = OnnxNetwork.Load(path);
        var x = tensor(Random(2 * 3 * 32 * 32, 31, -2, 2), new long[] { 2, 3, 32, 32 });
        foreach (var network in new[] { plain, prepared })
        {
            network.eval();
            network.Probe(x);
            network.SetTaps(network.DefaultTaps.Select(t => t.Name).ToList());
        }
        prepared.PrepareForInference();
        using var scope = NewDisposeScope();
        var plainOutputs = plain.forward(x);
        var preparedOutputs = prepared.forward(x);
        // The stage outputs come out channels-last from the prepared network only: the copies are used.
        Assert.False(MemoryLayout.IsChannelsLast(plainOutputs[1]));
        Assert.True(MemoryLayout.IsChannelsLast(preparedOutputs[1]));
        for (int k = 0; k < plainOutputs.Length; k++)
        {
            Assert.Equal(plainOutputs[k].shape, preparedOutputs[k].shape);
            double e = ModelReference.RelativeError(Values(preparedOutputs[k]), Values(plainOutputs[k]));
            Assert.True(e <= 1e-5, $"output {k} differs by {e:E2}");
        }
        float[] Gradient(OnnxNetwork network)
        {
            var input = x.detach().clone().requires_grad_(true);
            var outputs = network.forward(input);
            outputs[2].pow(2).sum().backward();
            return Values(input.grad!);
        }
        double g = ModelReference.RelativeError(Gradient(prepared), Gradient(plain));
        _output.WriteLine($"channels-last against the plain layout: input gradient differs by {g:E2}");
        Assert.True(g <= 1e-5, $"the input gradient differs by {g:E2}");
        // The stored initializers stay as they were (what training and export read).
        Assert.All(prepared.buffers(), b => Assert.True(b.dim() != 4 || b.is_contiguous()));
    }

    [Fact]
    public void Initializers_are_buffers_of_the_module_and_nothing_trains()
    {
        var model = Import("lenet.onnx");
        var buffers = model.Network.Module.buffers().ToList();
        Assert.Equal(8, buffers.Count);
        Assert.Empty(model.Network.Module.parameters());
        Assert.All(buffers, b => Assert.False(b.requires_grad));
        Assert.Equal(new long[] { 32, 1, 3, 3 }, buffers.Single(b => b.numel() == 288).shape);
    }

    [Fact]
    public void An_ONNX_file_is_recognised_by_content_and_a_TorchSharp_file_is_not_taken_for_one()
    {
        Assert.Equal(WeightsFormat.Onnx, WeightsFormatDetector.Detect(ModelReference.FixturePath("lenet.onnx")));
        // TorchSharp's format starts with the entry count as a varint: LeNet's 8 tensors make the same
        // first byte (0x08) as an ONNX file's IR version field.
        _ = FssdSession.Current;
        string path = Path.Combine(Path.GetTempPath(), $"fssd-lenet-{Guid.NewGuid():N}.dat");
        using (var net = new Fssd.Engine.Models.Architectures.LeNet()) net.save(path);
        try
        {
            Assert.Equal(8, File.ReadAllBytes(path)[0]);
            Assert.Equal(WeightsFormat.TorchSharp, WeightsFormatDetector.Detect(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cast_matches_ONNX_Runtime()
    {
        // float -> int64 (ONNX truncates toward zero) -> float, and the float copy multiplied by it.
        var model = OnnxWriter.Model(13,
            new[]
            {
                OnnxWriter.Node("Cast", new[] { "x" }, new[] { "i" }, OnnxWriter.Int("to", OnnxWriter.Int64)),
                OnnxWriter.Node("Cast", new[] { "i" }, new[] { "f" }, OnnxWriter.Int("to", OnnxWriter.Float)),
                OnnxWriter.Node("Mul", new[] { "x", "f" }, new[] { "y" }),
            },
            Array.Empty<byte[]>(),
            new[] { OnnxWriter.Value("x", OnnxWriter.Float, 2, 5) },
            new[] { OnnxWriter.Value("y", OnnxWriter.Float, 2, 5) });
        string path = OnnxWriter.Save(model, "cast.onnx");
        try
        {
            var input = Random(10, 3, -4, 4);
            var expected = RunOnnxRuntime(path, input, new[] { 2, 5 });
            _ = FssdSession.Current;
            using var network = new OnnxNetwork(OnnxProgram.FromFile(OnnxFile.Read(path), path), path);
            using var scope = NewDisposeScope();
            var values = network.Run(new Dictionary<string, Tensor> { ["x"] = tensor(input, new long[] { 2, 5 }) }, new[] { "y" });
            Assert.True(ModelReference.RelativeError(Values(values["y"]), expected) <= 1e-6);
            Assert.Contains(expected, v => v != 0);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unknown_operator_is_an_error_naming_the_operator_and_the_node()
    {
        var e = Assert.Throws<UnknownOnnxOperatorException>(() => Import("unknown_operator.onnx"));
        Assert.Equal("FancyNorm", e.Operator);
        Assert.Equal("fancy_norm_1", e.Node);
        Assert.Contains("'FancyNorm'", e.Message);
        Assert.Contains("'fancy_norm_1'", e.Message);
    }

    public static IEnumerable<object[]> HostileFiles()
    {
        var input = OnnxWriter.Value("x", OnnxWriter.Float, null, 1, 4, 4);
        var output = OnnxWriter.Value("y", OnnxWriter.Float, null, 1, 4, 4);
        byte[] Graph(byte[] node, params byte[][] initializers) =>
            OnnxWriter.Model(13, new[] { node }, initializers, new[] { input }, new[] { output });

        // An initializer that claims 2^20 x 2^20 values and holds four.
        yield return new object[] { "huge initializer", 4, Graph(OnnxWriter.Node("Add", new[] { "x", "w" }, new[] { "y" }),
            OnnxWriter.FloatTensor("w", new[] { 1L << 20, 1L << 20 }, new float[4])), "needs" };
        // Dimensions whose product overflows 64 bits.
        yield return new object[] { "overflowing dimensions", 4, Graph(OnnxWriter.Node("Add", new[] { "x", "w" }, new[] { "y" }),
            OnnxWriter.FloatTensor("w", new[] { 1L << 62, 1L << 62, 4 }, new float[4])), "overflows" };
        // A Reshape to 2^40 x 4 values.
        yield return new object[] { "huge reshape target", 4, Graph(OnnxWriter.Node("Reshape", new[] { "x", "s" }, new[] { "y" }),
            OnnxWriter.Int64Tensor("s", new long[] { 2 }, new[] { 1L << 40, 4 })), "cannot reshape" };
        // Padding by 2^40 on each side.
        yield return new object[] { "huge pads", 4, Graph(OnnxWriter.Node("Pad", new[] { "x", "p" }, new[] { "y" }),
            OnnxWriter.Int64Tensor("p", new long[] { 8 }, new[] { 0, 0, 1L << 40, 1L << 40, 0, 0, 1L << 40, 1L << 40 })), "would make a tensor" };
        // A max-pool whose pads would make it allocate 2^60 values.
        yield return new object[] { "huge pooling pads", 4, Graph(OnnxWriter.Node("MaxPool", new[] { "x" }, new[] { "y" },
            OnnxWriter.Ints("kernel_shape", 2, 2), OnnxWriter.Ints("pads", 1L << 30, 1L << 30, 1L << 30, 1L << 30))), "would make a tensor" };
        // A 1x1 convolution to 2^20 channels: 4 MB of weights, 2^32 values out of a 64x64 input.
        var wide = OnnxWriter.Model(13, new[] { OnnxWriter.Node("Conv", new[] { "x", "w" }, new[] { "y" }) },
            new[] { OnnxWriter.FloatTensor("w", new[] { 1L << 20, 1, 1, 1 }, new float[1 << 20]) },
            new[] { OnnxWriter.Value("x", OnnxWriter.Float, null, 1, 64, 64) }, new[] { output });
        yield return new object[] { "huge convolution output", 64, wide, "would make a tensor" };
        // Two constants [2^15, 1] and [1, 2^15] broadcast into 2^30 values.
        yield return new object[] { "huge broadcast", 4, OnnxWriter.Model(13,
            new[]
            {
                OnnxWriter.Node("Mul", new[] { "a", "b" }, new[] { "ab" }),
                OnnxWriter.Node("Relu", new[] { "x" }, new[] { "y" }),
            },
            new[] { OnnxWriter.FloatTensor("a", new[] { 1L << 15, 1 }, new float[1 << 15]), OnnxWriter.FloatTensor("b", new[] { 1, 1L << 15 }, new float[1 << 15]) },
            new[] { input }, new[] { output, OnnxWriter.Value("ab", OnnxWriter.Float, 1L << 15, 1L << 15) }), "would make a tensor" };
        // Weights kept in an external file (ONNX's format for models over 2 GiB).
        var location = new OnnxWriter.Message().String(1, "location").String(2, "weights.bin").ToArray();
        var external = new OnnxWriter.Message().Varint(1, 16).Varint(2, OnnxWriter.Float).String(8, "w").Bytes(13, location).Varint(14, 1).ToArray();
        yield return new object[] { "external data", 4, Graph(OnnxWriter.Node("Add", new[] { "x", "w" }, new[] { "y" }), external), "external file" };
        // A graph reading a value nothing defines.
        yield return new object[] { "undefined input", 4, Graph(OnnxWriter.Node("Relu", new[] { "nowhere" }, new[] { "y" })), "no graph input" };
        // A length-delimited field that claims more bytes than the file has.
        var model = Graph(OnnxWriter.Node("Relu", new[] { "x" }, new[] { "y" }));
        yield return new object[] { "truncated", 4, model.Take(model.Length - 7).ToArray(), "not a valid ONNX model" };
    }

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void A_hostile_or_damaged_file_is_a_model_error_and_allocates_nothing_large(string what, int side, byte[] bytes, string says)
    {
        string path = OnnxWriter.Save(bytes, what.Replace(' ', '-') + ".onnx");
        try
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.ThrowsAny<FssdModelException>(() => Import(new ModelLoadRequest { Path = path, Architecture = "Onnx", InputSize = new[] { side, side }, ColorMode = ColorMode.Gray }));
            Assert.Contains(says, e.Message);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 64L << 20, $"{what}: {allocated >> 20} MiB allocated");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_truncated_export_is_a_model_error()
    {
        var bytes = File.ReadAllBytes(ModelReference.FixturePath("lenet.onnx"));
        string path = OnnxWriter.Save(bytes.Take(bytes.Length * 3 / 5).ToArray(), "lenet-cut.onnx");
        try
        {
            var e = Assert.ThrowsAny<FssdModelException>(() => Import(new ModelLoadRequest { Path = path, Architecture = "Onnx" }));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
