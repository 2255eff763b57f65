using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring.Baselines;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

[Collection(TorchRandomCollection.Name)]
public class BaselineTests
{
    public BaselineTests() => NativeRuntime.EnsureLoaded();

    private static double[] Values(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

    [Fact]
    public void Max_softmax_and_energy_on_fixed_logits_match_hand_computed_values()
    {
        using var logits = tensor(new float[] { 0f, (float)Math.Log(3), 2f, 2f }, new long[] { 2, 2 });
        // softmax(0, ln 3) = (1/4, 3/4); softmax(2, 2) = (1/2, 1/2).
        Assert.Equal(new[] { 0.75, 0.5 }, Values(BaselineMath.MaxSoftmax(logits)), new Tolerance(1e-6));
        // At T = 2: (1, sqrt 3) / (1 + sqrt 3).
        Assert.Equal(Math.Sqrt(3) / (1 + Math.Sqrt(3)), Values(BaselineMath.MaxSoftmax(logits, 2))[0], 6);
        // T logsumexp(z / T): ln(1 + 3) = ln 4 and 2 + ln 2; at T = 2, 2 ln(1 + sqrt 3) and 2 + 2 ln 2.
        Assert.Equal(new[] { Math.Log(4), 2 + Math.Log(2) }, Values(BaselineMath.NegativeEnergy(logits)), new Tolerance(1e-6));
        Assert.Equal(new[] { 2 * Math.Log(1 + Math.Sqrt(3)), 2 + 2 * Math.Log(2) }, Values(BaselineMath.NegativeEnergy(logits, 2)), new Tolerance(1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => BaselineMath.MaxSoftmax(logits, 0));
    }

    [Fact]
    public void Mahalanobis_on_a_two_class_Gaussian_toy_recovers_means_covariance_and_distances()
    {
        // Class 0 about (0, 0), class 1 about (4, 0); residuals (±1, ±2): covariance diag(1, 4), precision diag(1, 1/4).
        var rows = new[] { (-1.0, -2.0), (1.0, -2.0), (-1.0, 2.0), (1.0, 2.0) };
        var data = rows.Select(r => new[] { r.Item1, r.Item2 }).Concat(rows.Select(r => new[] { r.Item1 + 4, r.Item2 })).SelectMany(r => r).ToArray();
        using var features = tensor(data, new long[] { 8, 2 });
        using var gaussians = ClassGaussians.Fit(features, new long[] { 0, 0, 0, 0, 1, 1, 1, 1 }, 2);
        Assert.Equal(new[] { 0.0, 0.0, 4.0, 0.0 }, Values(gaussians.Means), new Tolerance(1e-12));
        Assert.Equal(new[] { 1.0, 0.0, 0.0, 0.25 }, Values(gaussians.Precision), new Tolerance(1e-9));
        // (1, 0): 1 from class 0, 9 from class 1 → −1. (3, 2): 1 + 1 from class 1 → −2. (2, 4): 4 + 4 from either → −8.
        using var queries = tensor(new[] { 1.0, 0.0, 3.0, 2.0, 2.0, 4.0 }, new long[] { 3, 2 });
        Assert.Equal(new[] { -1.0, -2.0, -8.0 }, Values(gaussians.Score(queries)), new Tolerance(1e-9));
        Assert.Throws<ArgumentException>(() => ClassGaussians.Fit(features, new long[] { 0, 0, 0, 0, 0, 0, 0, 0 }, 2));
    }

    [Fact]
    public void Monte_Carlo_mean_and_variance_match_hand_computed_values()
    {
        // Two passes over one input: (0.2, 0.8) and (0.6, 0.4). Mean (0.4, 0.6) → 0.6; variances 0.04 + 0.04 → −0.08.
        using var probabilities = tensor(new[] { 0.2, 0.8, 0.6, 0.4 }, new long[] { 2, 1, 2 });
        var (mean, negativeVariance) = BaselineMath.MonteCarlo(probabilities);
        Assert.Equal(0.6, Values(mean)[0], 12);
        Assert.Equal(-0.08, Values(negativeVariance)[0], 12);
    }

    private static LoadedModel LeNet() => FssdSession.Current.Models.GetOrLoad(
        new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);

    private static Tensor FixtureImages(LoadedModel model)
    {
        var path = Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "fssd", "lenet.fssd.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var images = doc.RootElement.GetProperty("images").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => (byte)v.GetInt32())).ToArray();
        using var bytes = tensor(images, new long[] { 6, 1, 28, 28 }, dtype: ScalarType.Byte);
        return ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
    }

    [Fact]
    public void ODIN_at_eps_0_and_T_1_is_Base_and_its_step_raises_the_predicted_class_probability()
    {
        var model = LeNet();
        using var input = FixtureImages(model);
        var base_ = new BaselineScorer(DetectorMethod.Base, new[] { model }).Score(input, new[] { 0.0 })[0];
        var odin = new BaselineScorer(DetectorMethod.ODIN, new[] { model }).Score(input, new[] { 0.0, 0.01 }, temperature: 1);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(base_[i, 0], odin[0][i, 0], 12);
            Assert.True(odin[1][i, 0] >= odin[0][i, 0] - 1e-9, $"input {i}: {odin[1][i, 0]} < {odin[0][i, 0]}");
        }
        Assert.Throws<ArgumentException>(() => new BaselineScorer(DetectorMethod.Base, new[] { model }).Score(input, new[] { 0.01 }));
    }

    [Fact]
    public void Mahalanobis_step_brings_inputs_closer_to_their_class_Gaussian()
    {
        var model = LeNet();
        using var input = FixtureImages(model);
        int tap = model.TapIndex("logits");
        // Fitted on 60 noisy copies of the images (two classes by parity), so the 10 x 10 covariance has full rank.
        using var generator = new TorchSharp.torch.Generator(7);
        using var copies = input.repeat(10, 1, 1, 1).add(randn(new long[] { 60, 1, 28, 28 }, generator: generator).to(input.device).mul(0.3));
        using var training = BaselineScorer.TapFeatures(model, copies, tap).detach();
        using var gaussians = ClassGaussians.Fit(training, Enumerable.Range(0, 60).Select(i => (long)(i % 2)).ToArray(), 2);
        using var features = BaselineScorer.TapFeatures(model, input, tap).detach();
        var scores = new BaselineScorer(DetectorMethod.Mahalanobis, new[] { model }, new[] { (tap, gaussians) }).Score(input, new[] { 0.0, 0.002 });
        using var direct = gaussians.Score(features);
        var expected = Values(direct);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expected[i], scores[0][i, 0], 6);
            Assert.True(scores[1][i, 0] >= scores[0][i, 0] - 1e-6, $"input {i}: {scores[1][i, 0]} < {scores[0][i, 0]}");
        }
    }

    [Fact]
    public void MC_Dropout_is_reproducible_from_its_seed_differs_across_seeds_and_leaves_the_model_in_eval_mode()
    {
        var model = LeNet();
        using var input = FixtureImages(model);
        var scorer = new BaselineScorer(DetectorMethod.MCDropout, new[] { model });
        var a = scorer.Score(input, new[] { 0.0 }, passes: 8, seed: 3)[0];
        var b = scorer.Score(input, new[] { 0.0 }, passes: 8, seed: 3)[0];
        var c = scorer.Score(input, new[] { 0.0 }, passes: 8, seed: 4)[0];
        Assert.Equal(Enumerable.Range(0, 6).Select(i => a[i, 0]), Enumerable.Range(0, 6).Select(i => b[i, 0]));
        Assert.NotEqual(Enumerable.Range(0, 6).Select(i => a[i, 0]), Enumerable.Range(0, 6).Select(i => c[i, 0]));
        Assert.False(model.Network.Module.training);
        var variance = scorer.Score(input, new[] { 0.0 }, passes: 8, statistic: MonteCarloStatistic.Variance, seed: 3)[0];
        Assert.All(Enumerable.Range(0, 6), i => Assert.True(variance[i, 0] <= 0));
        // Deterministic Base on the same model after MC Dropout: dropout is off again.
        var before = new BaselineScorer(DetectorMethod.Base, new[] { model }).Score(input, new[] { 0.0 })[0];
        var after = new BaselineScorer(DetectorMethod.Base, new[] { model }).Score(input, new[] { 0.0 })[0];
        Assert.Equal(before[0, 0], after[0, 0]);
    }

    [Fact]
    public void Deep_Ensemble_of_one_model_twice_is_that_model_s_max_softmax()
    {
        var model = LeNet();
        using var input = FixtureImages(model);
        var single = new BaselineScorer(DetectorMethod.Base, new[] { model }).Score(input, new[] { 0.0 })[0];
        var ensemble = new BaselineScorer(DetectorMethod.DeepEnsemble, new[] { model, model }).Score(input, new[] { 0.0 })[0];
        for (int i = 0; i < 6; i++) Assert.Equal(single[i, 0], ensemble[i, 0], 6);
    }
}

internal sealed class Tolerance : System.Collections.Generic.IEqualityComparer<double>
{
    private readonly double _tolerance;
    public Tolerance(double tolerance) => _tolerance = tolerance;
    public bool Equals(double x, double y) => Math.Abs(x - y) <= _tolerance;
    public int GetHashCode(double obj) => 0;
}
