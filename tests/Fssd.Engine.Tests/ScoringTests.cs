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
    internal static string FssdFixture(string file) => Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "fssd", file);

    private static LoadedModel LeNet() => FssdSession.Current.Models.GetOrLoad(
        new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);

    /// <summary>The LeNet fixture's F* as PyTorch computed it (tests/fixtures/make_fssd_fixtures.py).</summary>
    internal static FssCenter PyTorchCenter(LoadedModel model)
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
    public void Noise_centers_are_reproducible_from_their_seed_and_fresh_noise_lies_closer_to_them_than_images_do()
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

        // The paper's premise at the penultimate tap, even in this untrained network: fresh uniform noise (another seed) lands near F*,
        // structured images do not. The images: bright strokes on black, as FashionMNIST and MNIST are.
        var random = new Random(11);
        var noise = Enumerable.Range(0, 50).Select(_ => { var p = new byte[784]; random.NextBytes(p); return p; }).ToList();
        var strokes = Enumerable.Range(0, 50).Select(i =>
        {
            var p = new byte[784];
            for (int y = 4 + i % 5; y < 24; y++) for (int x = 10 + i % 7; x < 14 + i % 7; x++) p[y * 28 + x] = 255;
            return p;
        }).ToList();
        using var scorer = new FssdScorer(model, a, new[] { FssdScorer.DefaultTap(model) });
        double noiseMean = scorer.ScoreFirstTap(noise, 0, PerturbationMode.Sign, 64, default).Average();
        double strokesMean = scorer.ScoreFirstTap(strokes, 0, PerturbationMode.Sign, 64, default).Average();
        Assert.True(noiseMean < 0.75 * strokesMean, $"fresh noise at {noiseMean:G4} from F*, stroke images at {strokesMean:G4}");
    }
}

[Collection(TorchRandomCollection.Name)]
public class ScoreGridTests
{
    [Theory]
    [InlineData(PerturbationMode.Sign)]
    [InlineData(PerturbationMode.Standardized)]
    public void A_grid_of_eps_gives_what_scoring_at_each_eps_gives(PerturbationMode mode)
    {
        var model = FssdSession.Current.Models.GetOrLoad(
            new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);
        var center = CenterEstimator.FromNoise(model, 50, 2, CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, new[] { 0, 2, 3 });
        using var bytes = randint(0, 256, new long[] { 5, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        var grid = new[] { 0.0, 0.03, -0.05 };
        var together = scorer.ScoreGrid(input, grid, mode);
        for (int e = 0; e < grid.Length; e++)
        {
            var single = scorer.Score(input, grid[e], mode);
            for (int i = 0; i < 5; i++)
                for (int k = 0; k < 3; k++)
                    Assert.True(Math.Abs(together[e][i, k] - single.TapScores[i, k]) <= 1e-5 * Math.Abs(single.TapScores[i, k]),
                        $"eps {grid[e]} input {i} tap {k}: grid {together[e][i, k]}, single {single.TapScores[i, k]}");
        }
    }
}

[Collection(TorchRandomCollection.Name)]
public class SharedStepTests
{
    private static LoadedModel LeNet() => FssdSession.Current.Models.GetOrLoad(
        new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);

    private static void Close(double actual, double expected, double relative, string what) =>
        Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected), $"{what}: {actual}, expected {expected}");

    [Theory]
    [InlineData(PerturbationMode.Sign)]
    [InlineData(PerturbationMode.Standardized)]
    public void A_shared_step_weighing_one_tap_is_that_taps_own_step(PerturbationMode mode)
    {
        var model = LeNet();
        var center = CenterEstimator.FromNoise(model, 50, 3, CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, new[] { 0, 1, 2, 3 });
        using var bytes = randint(0, 256, new long[] { 6, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        var own = scorer.Score(input, 0.04, mode);
        for (int k = 0; k < 4; k++)
        {
            // Any positive weight gives the same step: only the direction of the gradient counts.
            var weights = new double[4];
            weights[k] = 3.7;
            var shared = scorer.Score(input, 0.04, mode, weights);
            for (int i = 0; i < 6; i++) Close(shared.TapScores[i, k], own.TapScores[i, k], 1e-5, $"{mode} tap {k} input {i}");
        }
    }

    [Fact]
    public void A_shared_step_follows_the_gradient_of_the_weighted_sum_of_the_taps()
    {
        var model = LeNet();
        var center = CenterEstimator.FromNoise(model, 50, 4, CenterSource.UniformNoise);
        var taps = new[] { 0, 1, 2, 3 };
        var weights = new[] { -0.8, 0.35, 1.2, 0.05 };
        using var scorer = new FssdScorer(model, center, taps);
        using var bytes = randint(0, 256, new long[] { 5, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        const double epsilon = 0.03;
        var shared = scorer.Score(input, epsilon, PerturbationMode.Standardized, weights);

        // By hand: each tap's FSSD gradient on its own, summed with the weights, then the authors' standardized step.
        using var scope = NewDisposeScope();
        var centers = taps.Select(k => tensor(center.Taps.Single(t => t.Name == model.Taps[k].Name).Vector)).ToArray();
        Tensor sum = zeros_like(input);
        for (int j = 0; j < taps.Length; j++)
        {
            using var grad = enable_grad();
            var x = input.detach().requires_grad_(true);
            using var output = model.Forward(x);
            var fssd = output.Features[taps[j]].sub(centers[j]).norm(1).sum();
            sum = sum.add(autograd.grad(new[] { fssd }, new[] { x })[0].mul(weights[j]));
        }
        float std = (float)model.Info.InputSpec.Std[0];
        var stepped = input.sub(sum.sub(sum.mean()).div(sum.std()).div(std).mul(epsilon));
        using var noGrad = no_grad();
        using var after = model.Forward(stepped);
        for (int j = 0; j < taps.Length; j++)
        {
            var expected = after.Features[taps[j]].sub(centers[j]).norm(1).to_type(ScalarType.Float64).data<double>().ToArray();
            for (int i = 0; i < 5; i++) Close(shared.TapScores[i, j], expected[i], 1e-4, $"tap {j} input {i}");
        }
        // And the step differs from each tap's own: tap 0's weight is negative, so its FSSD moves the other way.
        var own = scorer.Score(input, epsilon, PerturbationMode.Standardized);
        Assert.Contains(Enumerable.Range(0, 5), i => Math.Abs(own.TapScores[i, 0] - shared.TapScores[i, 0]) > 1e-3 * own.TapScores[i, 0]);
    }

    [Fact]
    public void A_shared_grid_gives_what_shared_scoring_at_each_eps_gives()
    {
        var model = LeNet();
        var center = CenterEstimator.FromNoise(model, 50, 5, CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, new[] { 1, 2, 3 });
        using var bytes = randint(0, 256, new long[] { 4, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var input = ImageTensors.ToInput(bytes, model.Info.InputSpec, model.Device);
        var weights = new[] { 0.5, -1.0, 2.0 };
        var grid = new[] { 0.0, 0.02, -0.07 };
        var together = scorer.ScoreGrid(input, grid, PerturbationMode.Sign, weights);
        for (int e = 0; e < grid.Length; e++)
        {
            var single = scorer.Score(input, grid[e], PerturbationMode.Sign, weights);
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 3; k++)
                    Close(together[e][i, k], single.TapScores[i, k], 1e-5, $"eps {grid[e]} input {i} tap {k}");
        }
        Assert.Throws<ArgumentException>(() => scorer.Score(input, 0.02, PerturbationMode.Sign, new[] { 1.0, 2.0 }));
    }
}

public class PseudoOutlierTests
{
    private static byte[] Image(int seed) => Enumerable.Range(0, 784).Select(i => (byte)((i * 7 + seed * 13) % 256)).ToArray();

    [Fact]
    public void Each_kind_transforms_as_it_says()
    {
        var inputs = new[] { Image(1), Image(2) };
        var shuffled = Fssd.Engine.Calibration.PseudoOutliers.Make(inputs, PseudoOutlierKind.PixelShuffle, 1, 28, 28, 5);
        Assert.Equal(inputs[0].OrderBy(b => b), shuffled[0].OrderBy(b => b));
        Assert.NotEqual(inputs[0], shuffled[0]);
        var inverted = Fssd.Engine.Calibration.PseudoOutliers.Make(inputs, PseudoOutlierKind.Invert, 1, 28, 28, 5);
        Assert.All(Enumerable.Range(0, 784), i => Assert.Equal(255 - inputs[1][i], inverted[1][i]));
        var patches = Fssd.Engine.Calibration.PseudoOutliers.Make(inputs, PseudoOutlierKind.PatchShuffle4, 1, 28, 28, 5);
        // Every 7 x 7 patch of the result is a patch of the original.
        var originalPatches = Enumerable.Range(0, 16).Select(p => Patch(inputs[0], p)).ToList();
        for (int p = 0; p < 16; p++) Assert.Contains(originalPatches, o => o.SequenceEqual(Patch(patches[0], p)));
        var again = Fssd.Engine.Calibration.PseudoOutliers.Make(inputs, PseudoOutlierKind.PixelShuffle, 1, 28, 28, 5);
        Assert.Equal(shuffled[0], again[0]);
        var blurred = Fssd.Engine.Calibration.PseudoOutliers.Make(new[] { Enumerable.Repeat((byte)90, 784).ToArray() }, PseudoOutlierKind.Blur, 1, 28, 28, 5);
        Assert.All(blurred[0], b => Assert.Equal(90, b));
    }

    [Fact]
    public void A_mixture_deals_the_kinds_out_in_equal_shares_and_each_image_is_a_shuffle_of_its_own_cells()
    {
        var kinds = Fssd.Engine.Calibration.PseudoOutliers.DefaultKinds;
        var inputs = Enumerable.Range(0, 30).Select(Image).ToList();
        var (images, dealt) = Fssd.Engine.Calibration.PseudoOutliers.MakeMixture(inputs, kinds, 1, 28, 28, 9);
        Assert.Equal(30, images.Count);
        foreach (var kind in kinds) Assert.Equal(10, dealt.Count(k => k == kind));
        for (int i = 0; i < 30; i++)
        {
            int grid = dealt[i] switch
            {
                PseudoOutlierKind.PatchShuffle2 => 2,
                PseudoOutlierKind.PatchShuffle4 => 4,
                _ => 7,
            };
            int cell = 28 / grid;
            var cells = Enumerable.Range(0, grid * grid).Select(p => Cell(inputs[i], p, grid, cell)).ToList();
            for (int p = 0; p < grid * grid; p++) Assert.Contains(cells, c => c.SequenceEqual(Cell(images[i], p, grid, cell)));
            Assert.Equal(inputs[i].OrderBy(b => b), images[i].OrderBy(b => b));
        }
        var (again, dealtAgain) = Fssd.Engine.Calibration.PseudoOutliers.MakeMixture(inputs, kinds, 1, 28, 28, 9);
        Assert.Equal(dealt, dealtAgain);
        Assert.All(Enumerable.Range(0, 30), i => Assert.Equal(images[i], again[i]));
    }

    private static byte[] Cell(byte[] image, int p, int grid, int cell) =>
        Enumerable.Range(0, cell * cell).Select(j => image[(p / grid * cell + j / cell) * 28 + p % grid * cell + j % cell]).ToArray();

    private static byte[] Patch(byte[] image, int p)
    {
        int py = p / 4 * 7, px = p % 4 * 7;
        return Enumerable.Range(0, 49).Select(i => image[(py + i / 7) * 28 + px + i % 7]).ToArray();
    }
}
