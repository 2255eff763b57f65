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
public class ScoringTests
{
    private static string FssdFixture(string file) => Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "fssd", file);

    private static LoadedModel LeNet() => FssdSession.Current.Models.GetOrLoad(
        new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);

    private static FssCenter PyTorchCenter(LoadedModel model)
    {
        var state = StateDictReader.Read(FssdFixture("lenet.center.pt"), WeightsFormatDetector.Detect(FssdFixture("lenet.center.pt")));
        try
        {
            return new FssCenter
            {
                Model = model.Info.Name, ModelSha256 = model.Info.Sha256, Source = CenterSource.UniformNoise, Samples = 100,
                Taps = model.Taps.Select(t => new FssCenterTap { Name = t.Name, Size = (int)state[t.Name].numel(), Vector = state[t.Name].data<float>().ToArray() }).ToList(),
            };
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Theory]
    [InlineData("zero")]
    [InlineData("sign")]
    [InlineData("standardized")]
    public void Per_tap_FSSD_matches_PyTorch_to_1e4_relative(string variant)
    {
        var model = LeNet();
        using var doc = JsonDocument.Parse(File.ReadAllText(FssdFixture("lenet.fssd.json")));
        var root = doc.RootElement;
        var images = root.GetProperty("images").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => (byte)v.GetInt32())).ToArray();
        using var bytes = tensor(images, new long[] { 6, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        using var scorer = new FssdScorer(model, PyTorchCenter(model), Enumerable.Range(0, 4).ToArray());
        double epsilon = variant == "zero" ? 0 : root.GetProperty("epsilon").GetDouble();
        var mode = variant == "standardized" ? PerturbationMode.Standardized : PerturbationMode.Sign;
        var scores = scorer.Score(input, epsilon, mode);
        var expected = root.GetProperty("scores").GetProperty(variant);
        for (int k = 0; k < 4; k++)
        {
            var reference = expected.GetProperty(model.Taps[k].Name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < 6; i++)
                Assert.True(Math.Abs(scores.TapScores[i, k] - reference[i]) <= 1e-4 * Math.Abs(reference[i]),
                    $"{variant} {model.Taps[k].Name}[{i}]: module {scores.TapScores[i, k]}, PyTorch {reference[i]}");
        }
    }

    [Fact]
    public void A_perturbation_moves_the_scores_and_its_direction_matters()
    {
        var model = LeNet();
        var center = CenterEstimator.FromNoise(model, 100, 1, CenterSource.UniformNoise);
        using var bytes = randint(0, 256, new long[] { 8, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        using var scorer = new FssdScorer(model, center, new[] { 2 });
        var zero = scorer.Score(input, 0, PerturbationMode.Sign);
        var up = scorer.Score(input, 0.05, PerturbationMode.Sign);
        var down = scorer.Score(input, -0.05, PerturbationMode.Sign);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(up.TapScores[i, 0] > zero.TapScores[i, 0], "a step along the FSSD gradient increases FSSD");
            Assert.True(down.TapScores[i, 0] < zero.TapScores[i, 0], "a step against it decreases FSSD");
        }
        Assert.Equal(zero.Predicted, up.Predicted);
    }

    [Fact]
    public void Noise_centers_are_reproducible_from_their_seed_and_noise_scores_near_zero()
    {
        var model = LeNet();
        var a = CenterEstimator.FromNoise(model, 100, 7, CenterSource.UniformNoise);
        var b = CenterEstimator.FromNoise(model, 100, 7, CenterSource.UniformNoise);
        var c = CenterEstimator.FromNoise(model, 100, 8, CenterSource.UniformNoise);
        Assert.Equal(a.Taps[2].Vector, b.Taps[2].Vector);
        Assert.NotEqual(a.Taps[2].Vector, c.Taps[2].Vector);
        var authors = CenterEstimator.FromNoise(model, 100, 7, CenterSource.AuthorsNoise);
        Assert.Equal(CenterSource.AuthorsNoise, authors.Source);
        Assert.Equal(model.Taps.Select(t => t.Name), a.Taps.Select(t => t.Name));
    }
}
