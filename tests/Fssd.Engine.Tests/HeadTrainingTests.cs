using System;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Calibration;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Onnx;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using Fssd.Engine.Training;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>
/// A new linear head on an ONNX network's feature (New-FssdClassifier -InitialModel): trained on a set the
/// feature separates, written into a manifest that loads back as a classifier whose logits are the head's.
/// </summary>
public class HeadTrainingTests
{
    private static LoadedModel Import(ModelLoadRequest request) =>
        FssdSession.Current.Models.GetOrLoad(request, FssdSession.Current.Device, out _);

    /// <summary>28 × 28 gray images of two kinds: bright top half or bright bottom half, with noise; labels 0 and 1.</summary>
    private static ImageSet Halves(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 28 * 28];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    bool lit = labels[i] == 0 ? y < 14 : y >= 14;
                    pixels[i * 784 + y * 28 + x] = (byte)Math.Clamp((lit ? 200 : 30) + random.Next(-30, 31), 0, 255);
                }
        }
        return new ImageSet($"halves-{seed}", pixels, labels, count, 1, 28, 28, new[] { "top", "bottom" },
            Enumerable.Range(0, count).Select(i => $"image{i}").ToArray(), 0);
    }

    private static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fssd-head-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void A_head_trained_on_an_onnx_feature_loads_back_as_the_models_logits()
    {
        var initial = Import(new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.onnx") });
        string dir = TempDirectory();
        try
        {
            var options = TrainingOptions.ForHead();
            options.Name = "halves";
            options.OutputDirectory = dir;
            options.Epochs = 10;
            var result = HeadTrainer.Train(initial, Halves(40, 1), Halves(20, 2), new[] { "top", "bottom" }, options, null, null, CancellationToken.None);
            Assert.Equal(10, result.Training.Epochs.Count);
            Assert.Equal(1.0, result.Training.Epochs[^1].Accuracy);
            Assert.Equal(initial.Info.Name, result.Training.FineTunedFrom);

            var manifest = ModelManifest.Load(result.ManifestPath);
            Assert.NotNull(manifest.Head);
            // The fixture's own classifier reads '/Relu_2_output_0' (128 features): the new head replaces it there.
            Assert.Equal("/Relu_2_output_0", manifest.Head!.Input);
            Assert.Equal((2, 128), (manifest.Head.Classes, manifest.Head.Features));
            Assert.Equal(initial.Info.Sha256, manifest.WeightsSha256);

            var tuned = Import(new ModelLoadRequest { Path = result.ManifestPath });
            Assert.True(tuned.Info.HasClassifier);
            Assert.Equal(new[] { "top", "bottom" }, tuned.Info.ClassNames);
            Assert.Equal(OnnxNetwork.HeadOutput, tuned.Info.Layers[^1].Name);
            Assert.Equal(2, tuned.Info.Layers[^1].FeatureSize);
            Assert.NotEqual(initial.Info.Id, tuned.Info.Id);

            // logits = W · feature + b, from the manifest's numbers and the network's feature.
            var (weight, bias) = manifest.Head.Read("test");
            var test = Halves(6, 3);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = ImageTensors.ToInput(ImageTensors.ToByteTensor(test), tuned.Info.InputSpec, tuned.Device);
            var feature = ((OnnxNetwork)tuned.Network).Features(input).cpu();
            var expected = feature.matmul(tensor(weight, new long[] { 2, 128 }).t()).add(tensor(bias));
            var logits = tuned.Forward(input).Logits.cpu();
            Assert.True(logits.allclose(expected, rtol: 1e-5, atol: 1e-5), "the model's logits are not the head's");
            var predicted = logits.argmax(1).data<long>().ToArray();
            Assert.Equal(test.Labels!.Select(l => (long)l), predicted);
            Assert.Equal(test.Labels!.Select(l => (long)l), tuned.Forward(input).Features[^1].cpu().argmax(1).data<long>().ToArray());

            // A detector fitted without naming a method keeps to the feature space the head did not change.
            var request = new FssdDetectorRequest { Models = new[] { tuned } };
            var (method, reason) = DetectorChoice.Choose(request, outOfDistribution: false);
            Assert.Equal(DetectorMethod.Knn, method);
            Assert.Contains("head trained on its last feature", reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Training_the_last_stage_changes_its_weights_alone_and_writes_them_into_a_copy_of_the_onnx_file()
    {
        var initial = Import(new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.onnx") });
        string dir = TempDirectory();
        try
        {
            var options = TrainingOptions.ForHead();
            options.Name = "staged";
            options.OutputDirectory = dir;
            options.Epochs = 5;
            options.TrainLastStage = true;
            options.LastStageEpochs = 3;
            var result = HeadTrainer.Train(initial, Halves(40, 1), Halves(20, 2), new[] { "top", "bottom" }, options, null, null, CancellationToken.None);
            Assert.Equal(8, result.Training.Epochs.Count);
            Assert.Contains("'/Relu_output_0' to '/Relu_2_output_0'", result.Training.Optimizer);
            Assert.True(result.Training.Epochs[^1].Accuracy >= 0.9, string.Join(", ", result.Training.Epochs.Select(e => $"{e.Loss:F4}/{e.Accuracy:F2}/{e.LearningRate:G3}")));

            var manifest = ModelManifest.Load(result.ManifestPath);
            Assert.Equal("staged.onnx", manifest.Weights);
            string written = Path.Combine(dir, "staged.onnx");
            Assert.Equal(new FileInfo(initial.Info.WeightsPath).Length, new FileInfo(written).Length);
            var tuned = Import(new ModelLoadRequest { Path = result.ManifestPath });
            Assert.Equal(manifest.WeightsSha256, tuned.Info.Sha256);
            Assert.NotEqual(initial.Info.Sha256, tuned.Info.Sha256);

            // The stage before is the same network; the last stage and what follows it are not.
            var before = OnnxFile.Read(initial.Info.WeightsPath).Graph.Initializers.ToDictionary(i => i.Name);
            var after = OnnxFile.Read(written).Graph.Initializers.ToDictionary(i => i.Name);
            var changed = before.Keys.Where(k => before[k].Floats is { } f && !f.SequenceEqual(after[k].Floats!)).OrderBy(k => k).ToList();
            Assert.NotEmpty(changed);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = ImageTensors.ToInput(ImageTensors.ToByteTensor(Halves(4, 5)), tuned.Info.InputSpec, tuned.Device);
            int first = initial.TapIndex("/Relu_output_0"), last = initial.TapIndex("/Relu_2_output_0");
            Assert.True(initial.ForwardTapRaw(input, first).equal(tuned.ForwardTapRaw(input, first)).all().item<bool>(), "the stage before the last changed");
            Assert.False(initial.ForwardTapRaw(input, last).allclose(tuned.ForwardTapRaw(input, last)), "the last stage did not change");
            var predicted = tuned.Forward(input).Logits.argmax(1).cpu().data<long>().ToArray();
            Assert.Equal(Halves(4, 5).Labels!.Select(l => (long)l), predicted);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Rewriting_an_initializer_keeps_the_file_a_valid_model_with_the_new_values()
    {
        string source = ModelReference.FixturePath("lenet.onnx");
        var original = OnnxFile.Read(source).Graph.Initializers.First(i => i.Floats is { Length: > 10 });
        var values = Enumerable.Range(0, original.Floats!.Length).Select(i => i * 0.25f).ToArray();
        string dir = TempDirectory();
        try
        {
            string target = Path.Combine(dir, "rewritten.onnx");
            File.WriteAllBytes(target, OnnxFile.WithFloats(source, new System.Collections.Generic.Dictionary<string, float[]> { [original.Name] = values }));
            var read = OnnxFile.Read(target).Graph.Initializers.First(i => i.Name == original.Name);
            Assert.Equal(values, read.Floats);
            var wrongCount = Assert.Throws<FssdModelException>(() =>
                OnnxFile.WithFloats(source, new System.Collections.Generic.Dictionary<string, float[]> { [original.Name] = new float[3] }));
            Assert.Contains("3 were given", wrongCount.Message);
            Assert.Throws<FssdModelException>(() =>
                OnnxFile.WithFloats(source, new System.Collections.Generic.Dictionary<string, float[]> { ["no-such"] = new float[3] }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_head_must_sit_on_an_onnx_model_and_fit_its_feature()
    {
        string dir = TempDirectory();
        try
        {
            var head = HeadManifest.From("/Relu_2_output_0", new float[2 * 64], new float[2]);
            var onLeNet = new ModelManifest { Architecture = "LeNet", Weights = "w.safetensors", Head = head };
            var e = Assert.Throws<FssdModelException>(() => onLeNet.Validate("m.yaml"));
            Assert.Contains("Onnx", e.Message);

            string path = Path.Combine(dir, "wrong.yaml");
            new ModelManifest { Architecture = "Onnx", Weights = ModelReference.FixturePath("lenet.onnx"), Head = head, ClassNames = new() { "a", "b" } }
                .Write(path, "# test\n");
            var wrong = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = path }));
            Assert.Contains("64 features", wrong.Message);
            Assert.Contains("/Relu_2_output_0", wrong.Message);

            var missing = HeadManifest.From("no-such-value", new float[2 * 128], new float[2]);
            new ModelManifest { Architecture = "Onnx", Weights = ModelReference.FixturePath("lenet.onnx"), Head = missing }.Write(path, "# test\n");
            var absent = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = path }));
            Assert.Contains("'no-such-value'", absent.Message);

            var torn = HeadManifest.From("/Relu_2_output_0", new float[2 * 128], new float[2]);
            torn.WeightFloat32 = torn.WeightFloat32[..^8];
            new ModelManifest { Architecture = "Onnx", Weights = ModelReference.FixturePath("lenet.onnx"), Head = torn }.Write(path, "# test\n");
            var short_ = Assert.Throws<FssdModelException>(() => Import(new ModelLoadRequest { Path = path }));
            Assert.Contains("head.weightFloat32", short_.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
