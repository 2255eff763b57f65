using System;
using System.IO;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

[Collection(TorchRandomCollection.Name)]
public class ModelImportTests
{
    private static LoadedModel Import(ModelLoadRequest request) =>
        FssdSession.Current.Models.GetOrLoad(request, FssdSession.Current.Device, out _);

    private static ModelLoadRequest Fixture(string file, string architecture, params string[] layers) => new()
    {
        Path = ModelReference.FixturePath(file),
        Architecture = architecture,
        Layers = layers.Length == 0 ? null : layers,
    };

    [Theory]
    [InlineData("lenet.pt")]
    [InlineData("lenet.safetensors")]
    public void LeNet_state_dict_matches_PyTorch(string file)
    {
        var model = Import(Fixture(file, "LeNet"));
        Assert.Equal(new[] { "conv1", "conv2", "fc1", "logits" }, model.Info.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 21632, 36864, 128, 10 }, model.Info.Layers.Select(l => l.FeatureSize));
        Assert.Equal(28, model.Info.InputSpec.Height);
        Assert.Equal(0.2860, model.Info.InputSpec.Mean[0]);
        ModelReference.Load("lenet.reference.json").Check(model);
    }

    [Theory]
    [InlineData("lenet.traced.pt")]
    [InlineData("lenet.scripted.pt")]
    public void LeNet_TorchScript_tuple_matches_PyTorch(string file)
    {
        var request = new ModelLoadRequest
        {
            Path = ModelReference.FixturePath(file), Architecture = "TorchScript",
            InputSize = new[] { 28, 28 }, ColorMode = ColorMode.Gray, Layers = new[] { "conv1", "conv2", "fc1" },
        };
        var model = Import(request);
        Assert.Equal(new[] { "conv1", "conv2", "fc1", "logits" }, model.Info.Layers.Select(l => l.Name));
        ModelReference.Load("lenet.reference.json").Check(model);
    }

    [Fact]
    public void TorchScript_features_are_named_layer1_to_K_without_a_manifest()
    {
        var model = Import(new ModelLoadRequest
        {
            Path = ModelReference.FixturePath("mlp7.scripted.pt"), Architecture = "TorchScript",
            InputSize = new[] { 4, 4 }, ColorMode = ColorMode.Gray,
        });
        Assert.Equal(new[] { "layer1", "layer2", "layer3", "layer4", "layer5", "layer6", "logits" },
            model.Info.Layers.Select(l => l.Name));
        ModelReference.Load("mlp7.reference.json").Check(model);
    }

    [Fact]
    public void TorchScript_returning_logits_alone_has_the_logits_tap()
    {
        var model = Import(new ModelLoadRequest
        {
            Path = ModelReference.FixturePath("lenet.logits.pt"), Architecture = "TorchScript",
            InputSize = new[] { 28, 28 }, ColorMode = ColorMode.Gray,
        });
        Assert.Equal(new[] { "logits" }, model.Info.Layers.Select(l => l.Name));
        Assert.Equal(10, model.Info.ClassNames.Count);
    }

    [Fact]
    public void ResNet18_with_torchvision_names_matches_PyTorch()
    {
        var model = Import(Fixture("resnet18_cifar.pt", "ResNet18"));
        Assert.Equal(new[] { "stem", "layer1", "layer2", "layer3", "layer4", "penultimate", "logits" },
            model.Info.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 64, 64, 128, 256, 512, 512, 10 }, model.Info.Layers.Select(l => l.FeatureSize));
        Assert.Equal("cifar", model.Manifest.Stem);
        ModelReference.Load("resnet18_cifar.reference.json").Check(model);
    }

    [Fact]
    public void ResNet_ImageNet_form_has_a_7x7_stem_and_runs_on_larger_inputs()
    {
        using var scope = NewDisposeScope();
        using var net = ResNet.ResNet34(5, ResNetStem.ImageNet);
        net.eval();
        var names = net.state_dict().Keys.ToList();
        Assert.Contains("layer3.5.conv2.weight", names);
        Assert.Contains("layer2.0.downsample.1.running_var", names);
        Assert.Equal(new long[] { 64, 3, 7, 7 }, net.state_dict()["conv1.weight"].shape);
        using var noGrad = no_grad();
        var outputs = net.Forward(randn(1, 3, 64, 64));
        Assert.Equal(new long[] { 1, 5 }, outputs[0].shape);
        Assert.Equal(new long[] { 1, 64, 16, 16 }, outputs[1].shape); // stem after max-pool
    }

    [Fact]
    public void A_loaded_LeNet_runs_channels_last_and_computes_what_the_plain_network_does()
    {
        var model = Import(Fixture("lenet.safetensors", "LeNet"));
        using var plain = new Fssd.Engine.Models.Architectures.LeNet();
        using (torch.no_grad())
            foreach (var (key, value) in model.Network.Module.state_dict()) plain.state_dict()[key].copy_(value);
        plain.eval();
        torch.manual_seed(7);
        using var x = torch.randn(16, 1, 28, 28);
        using var fast = model.ForwardRaw(x);
        var reference = plain.forward(x);
        // conv1's and conv2's maps come out channels-last (stride 1 along channels; the one-channel input
        // goes in with channels-last strides); the values are the plain network's, from the whole pass
        // and from the pass that stops at each tap (fc1 reads the channels-last pooled map in place).
        Assert.True(MemoryLayout.IsChannelsLast(fast.Features[model.TapIndex("conv1")]), "conv1's map is not channels-last");
        Assert.True(MemoryLayout.IsChannelsLast(fast.Features[model.TapIndex("conv2")]), "conv2's map is not channels-last");
        Assert.False(MemoryLayout.IsChannelsLast(reference[2]));
        foreach (var (tap, output) in new[] { ("conv1", 1), ("conv2", 2), ("fc1", 3), ("logits", 0) })
        {
            using var alone = model.ForwardTapRaw(x, model.TapIndex(tap));
            foreach (var computed in new[] { fast.Features[model.TapIndex(tap)], alone })
            {
                using var a = computed.contiguous().flatten();
                using var b = reference[output].contiguous().flatten();
                double scale = b.abs().max().item<float>();
                double diff = (a - b).abs().max().item<float>();
                Assert.True(diff <= 1e-5 * scale, $"{tap}: max difference {diff:E2} against a largest value of {scale:E2}");
            }
        }
        foreach (var t in reference) t.Dispose();
    }

    [Fact]
    public void An_objective_that_ignores_the_input_has_a_zero_gradient_and_the_others_theirs()
    {
        // libtorch's grad throws for an objective outside the graph, and that exception would end the
        // process (it does not cross TorchSharp's native boundary): the pass must not ask it.
        var model = Import(Fixture("lenet.safetensors", "LeNet"));
        torch.manual_seed(5);
        using var x = torch.randn(4, 1, 28, 28);
        using var scope = torch.NewDisposeScope();
        using (torch.enable_grad())
        {
            using var pass = model.ForwardForGradients(x);
            var gradients = pass.Gradients(new[] { torch.ones(1).sum(), pass.Output.Logits.sum() });
            Assert.Equal(x.shape, gradients[0].shape);
            Assert.Equal(0.0, gradients[0].abs().max().item<float>());
            Assert.True(gradients[1].abs().max().item<float>() > 0, "the logits' gradient is zero");
        }
    }

    [Fact]
    public void LeNet_input_gradients_through_its_stem_equal_backpropagation_to_the_input()
    {
        var model = Import(Fixture("lenet.safetensors", "LeNet"));
        Assert.IsAssignableFrom<IAffineStemNetwork>(model.Network);
        using var plain = new Fssd.Engine.Models.Architectures.LeNet();
        using (torch.no_grad())
            foreach (var (key, value) in model.Network.Module.state_dict()) plain.state_dict()[key].copy_(value);
        plain.eval();
        foreach (var p in plain.parameters()) p.requires_grad_(false);
        torch.manual_seed(11);
        using var x = torch.randn(8, 1, 28, 28);
        using var scope = torch.NewDisposeScope();
        var taps = new[] { ("conv1", 1), ("conv2", 2), ("fc1", 3), ("logits", 0) };
        Tensor[] viaStem;
        var reference = new Tensor[taps.Length];
        using (torch.enable_grad())
        {
            using var pass = model.ForwardForGradients(x);
            // A different objective per tap (weighted sums, so that each gradient is its own).
            viaStem = pass.Gradients(taps.Select((t, k) => pass.Output.Features[model.TapIndex(t.Item1)].square().sum().mul(k + 1)).ToArray());
            var leaf = x.detach().requires_grad_(true);
            var outputs = plain.forward(leaf);
            for (int k = 0; k < taps.Length; k++)
                reference[k] = torch.autograd.grad(new[] { outputs[taps[k].Item2].square().sum().mul(k + 1) }, new[] { leaf }, retain_graph: k < taps.Length - 1)[0];
        }
        for (int k = 0; k < taps.Length; k++)
        {
            Assert.Equal(x.shape, viaStem[k].shape);
            double scale = reference[k].abs().max().item<float>();
            double diff = (viaStem[k] - reference[k]).abs().max().item<float>();
            Assert.True(scale > 0, $"{taps[k].Item1}: the reference gradient is zero");
            Assert.True(diff <= 1e-5 * scale, $"{taps[k].Item1}: max difference {diff:E2} against a largest value of {scale:E2}");
        }
    }

    [Fact]
    public void TorchSharp_own_format_round_trips()
    {
        var source = Import(Fixture("lenet.pt", "LeNet"));
        string path = Path.Combine(Path.GetTempPath(), $"fssd-lenet-{Guid.NewGuid():N}.dat");
        try
        {
            source.Network.Module.save(path);
            Assert.Equal(WeightsFormat.TorchSharp, WeightsFormatDetector.Detect(path));
            var copy = Import(new ModelLoadRequest { Path = path, Architecture = "LeNet" });
            ModelReference.Load("lenet.reference.json").Check(copy);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Importing_the_same_file_twice_returns_the_cached_instance()
    {
        var first = FssdSession.Current.Models.GetOrLoad(Fixture("lenet.safetensors", "LeNet"), FssdSession.Current.Device, out _);
        var again = FssdSession.Current.Models.GetOrLoad(Fixture("lenet.safetensors", "LeNet"), FssdSession.Current.Device, out bool cached);
        Assert.True(cached);
        Assert.Same(first, again);
    }

    [Fact]
    public void Weights_of_another_network_are_refused_with_the_first_mismatches()
    {
        var e = Assert.Throws<FssdModelException>(() => Import(Fixture("resnet18_cifar.pt", "LeNet")));
        Assert.Contains("resnet18_cifar.pt", e.Message);
        Assert.Contains("do not fit LeNet", e.Message);
        Assert.Contains("missing 'conv1.bias'", e.Message);
        Assert.Contains("more", e.Message);
    }

    [Fact]
    public void A_truncated_archive_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fssd-truncated-{Guid.NewGuid():N}.pt");
        try
        {
            var bytes = File.ReadAllBytes(ModelReference.FixturePath("lenet.pt"));
            File.WriteAllBytes(path, bytes.Take(bytes.Length / 2).ToArray());
            var e = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = path, Architecture = "LeNet" }));
            Assert.Contains(path, e.Message);
            Assert.Contains("truncated", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_text_file_is_not_a_model()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fssd-text-{Guid.NewGuid():N}.pt");
        try
        {
            File.WriteAllText(path, "these are not weights\n");
            var e = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = path, Architecture = "LeNet" }));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class ModelExportTests
{
    [Fact]
    public void Exported_manifest_and_safetensors_reproduce_the_model()
    {
        var session = FssdSession.Current;
        var source = session.Models.GetOrLoad(new ModelLoadRequest
        {
            Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet",
        }, session.Device, out _);
        string dir = Path.Combine(Path.GetTempPath(), $"fssd-export-{Guid.NewGuid():N}");
        try
        {
            string manifest = Fssd.Engine.Persistence.ModelExporter.Export(source, dir, "copy");
            var copy = session.Models.GetOrLoad(new ModelLoadRequest { Path = manifest }, session.Device, out _);
            Assert.NotSame(source, copy);
            ModelReference.Load("lenet.reference.json").Check(copy);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
