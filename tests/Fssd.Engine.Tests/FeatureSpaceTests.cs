using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Fssd.Engine.Calibration;
using Fssd.Engine.Data;
using Fssd.Engine.Metrics;
using Fssd.Engine.Models;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.Baselines;
using Fssd.Engine.Scoring.FeatureSpace;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>The feature-space detectors' math against plain loops, and Knn and Gaussian detectors made, saved and read back.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class FeatureSpaceTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"fssd-feature-space-{Guid.NewGuid():N}");
    private readonly ModelCache _cache = new();

    public FeatureSpaceTests()
    {
        NativeRuntime.EnsureLoaded();
        Directory.CreateDirectory(_folder);
    }

    public void Dispose()
    {
        foreach (var m in _cache.Loaded) _cache.Remove(m.Info.Id);
        Directory.Delete(_folder, recursive: true);
    }

    private static double[][] RandomRows(int n, int d, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
    }

    private static Tensor ToTensor(double[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows[0].Length });

    private static double Cosine(double[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na) / Math.Sqrt(nb);
    }

    [Fact]
    public void Knn_scores_are_the_brute_force_cosine_distance_to_the_k_th_nearest_fitted_feature()
    {
        var bankRows = RandomRows(40, 7, 1);
        var queries = RandomRows(9, 7, 2);
        using var features = ToTensor(bankRows);
        using var bank = NeighborBank.Fit(features, 3, NeighborBank.KeptRows(40, 100, 0));
        using var q = ToTensor(queries);
        using var scores = bank.Score(q);
        var got = scores.data<double>().ToArray();
        for (int i = 0; i < queries.Length; i++)
        {
            var distances = bankRows.Select(r => 1 - Cosine(queries[i], r)).Order().ToArray();
            Assert.Equal(-distances[2], got[i], 5);
        }
        // Every bank row is of unit length.
        using var norms = linalg.vector_norm(bank.Features, 2, new long[] { 1 });
        Assert.All(norms.data<float>().ToArray(), n => Assert.Equal(1.0, n, 5));
    }

    [Fact]
    public void Knn_leave_one_out_leaves_each_fitted_input_s_own_entry_out_and_a_capped_bank_is_a_seeded_subsample()
    {
        var rows = RandomRows(30, 5, 3);
        var kept = NeighborBank.KeptRows(30, 20, 7);
        Assert.Equal(20, kept.Length);
        Assert.Equal(kept.Order(), kept);
        Assert.Equal(kept, NeighborBank.KeptRows(30, 20, 7));
        Assert.NotEqual(kept, NeighborBank.KeptRows(30, 20, 8));
        Assert.Equal(Enumerable.Range(0, 30), NeighborBank.KeptRows(30, 30, 7));

        using var features = ToTensor(rows);
        using var bank = NeighborBank.Fit(features, 2, kept);
        var heldOut = FeatureSpaceCalibrator.KnnHeldOut(bank, features, kept, 30);
        for (int i = 0; i < rows.Length; i++)
        {
            var distances = kept.Where(j => j != i).Select(j => 1 - Cosine(rows[i], rows[j])).Order().ToArray();
            Assert.Equal(-distances[1], heldOut[i], 5);
        }
        Assert.Throws<FssdDataException>(() => NeighborBank.Fit(features, 21, kept));
    }

    [Fact]
    public void The_shrunk_Gaussian_is_the_Ledoit_Wolf_estimate_computed_from_its_definition()
    {
        const int n = 12, d = 6;
        var rows = RandomRows(n, d, 4);
        // Plain loops: mean, S (divided by n), mu = tr S / d, d2 = ||S - mu I||^2 / d, b2 = sum_k ||x_k x_k' - S||^2 / (n^2 d).
        var mean = Enumerable.Range(0, d).Select(j => rows.Average(r => r[j])).ToArray();
        var centered = rows.Select(r => r.Select((v, j) => v - mean[j]).ToArray()).ToArray();
        var s = new double[d, d];
        foreach (var x in centered) for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) s[a, b] += x[a] * x[b] / n;
        double mu = Enumerable.Range(0, d).Sum(a => s[a, a]) / d;
        double d2 = 0, b2 = 0;
        for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) d2 += Math.Pow(s[a, b] - (a == b ? mu : 0), 2);
        d2 /= d;
        foreach (var x in centered) for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) b2 += Math.Pow(x[a] * x[b] - s[a, b], 2);
        b2 /= (double)n * n * d;
        double rho = Math.Min(b2, d2) / d2;

        using var features = ToTensor(rows);
        var (gaussian, shrinkage) = ClassGaussians.FitShrunk(features);
        using (gaussian)
        {
            Assert.Equal(rho, shrinkage, 10);
            Assert.Equal(1, gaussian.Classes);
            Assert.Equal(mean, gaussian.Means.data<double>().ToArray(), new Tolerance(1e-12));
            // Precision times the shrunk covariance is the identity.
            var shrunk = new double[d * d];
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) shrunk[a * d + b] = (1 - rho) * s[a, b] + (a == b ? rho * mu : 0);
            using var product = gaussian.Precision.matmul(tensor(shrunk, new long[] { d, d }));
            using var identity = eye(d, dtype: ScalarType.Float64);
            Assert.True(product.allclose(identity, rtol: 0, atol: 1e-9));
            // The score of a point is minus its squared Mahalanobis distance.
            var query = new[] { 0.3, -0.2, 0.1, 0.0, 0.5, -0.4 };
            var precision = gaussian.Precision.data<double>().ToArray();
            double expected = 0;
            for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) expected += (query[a] - mean[a]) * precision[a * d + b] * (query[b] - mean[b]);
            using var q = tensor(query, new long[] { 1, d });
            using var score = gaussian.Score(q);
            Assert.Equal(-expected, score.data<double>()[0], 9);
        }
        // Fewer inputs than dimensions still give an invertible covariance.
        using var few = ToTensor(RandomRows(4, 20, 5));
        var (small, smallShrinkage) = ClassGaussians.FitShrunk(few);
        using (small) Assert.True(smallShrinkage > 0 && small.Precision.isfinite().all().item<bool>());
    }

    private LoadedModel LeNet()
    {
        string manifest = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.yaml");
        return _cache.GetOrLoad(new ModelLoadRequest { Path = manifest }, CPU, out _);
    }

    private static List<byte[]> Images(string dataset, int skip, int count)
    {
        var provisioner = new DatasetProvisioner(null);
        var set = DatasetReader.Load(provisioner.Open(dataset, "test", null, CancellationToken.None), 1, 28, 28, null, CancellationToken.None);
        return Enumerable.Range(skip, count).Select(i => set.Pixels.AsSpan(i * 784, 784).ToArray()).ToList();
    }

    private static double[] Scores(DetectorScorer scorer, IReadOnlyList<byte[]> inputs) => scorer.ScoreAll(inputs, 50, CancellationToken.None);

    [Theory]
    [InlineData(DetectorMethod.Knn)]
    [InlineData(DetectorMethod.Gaussian)]
    public void A_feature_space_detector_is_fitted_on_in_distribution_inputs_alone_and_scores_bit_for_bit_from_its_file(DetectorMethod method)
    {
        var model = LeNet();
        var fashion = Images(BenchmarkData.FashionMnist, 0, 400);
        var digits = Images(BenchmarkData.Mnist, 0, 100);
        var request = new FssdDetectorRequest { Models = new[] { model }, Method = method, Neighbors = method == DetectorMethod.Knn ? 5 : null, Layers = new[] { "fc1", "logits" } };
        var detector = DetectorFactory.Create(request, fashion.Take(300).ToList(), null, null, null, CancellationToken.None);
        Assert.Equal(method, detector.Method);
        Assert.Equal(new[] { "fc1", "logits" }, detector.Layers.Select(l => l.Name));
        Assert.All(detector.Layers, l => Assert.Equal(0.5, l.Weight));
        Assert.Equal(method == DetectorMethod.Knn ? 2 : 0, detector.Banks.Count);
        Assert.Equal(method == DetectorMethod.Gaussian ? 2 : 0, detector.Gaussians.Count);
        Assert.InRange(detector.ValidationTpr, 0.95, 1.0);

        var heldIn = fashion.Skip(300).ToList();
        double[] scoresIn, scoresOut;
        using (var scorer = DetectorScorer.For(detector, new[] { model }))
        {
            scoresIn = Scores(scorer, heldIn);
            scoresOut = Scores(scorer, digits);
        }
        double auroc = OodMetrics.Compute(scoresIn, scoresOut, method.ToString()).AUROC;
        // FashionMNIST against MNIST at fc1 and logits, 300 images fitted: Knn 0.9 and more, Gaussian 0.85 measured.
        Assert.True(auroc > (method == DetectorMethod.Knn ? 0.9 : 0.8), $"AUROC {auroc}");
        // The held-out threshold keeps about its target share of fresh in-distribution inputs.
        Assert.InRange(scoresIn.Count(s => s >= detector.Threshold) / (double)scoresIn.Length, 0.85, 1.0);

        string path = Path.Combine(_folder, $"{method}.fssd.yaml");
        DetectorDocument.Save(detector, new[] { model }, path);
        var (back, models) = DetectorLoader.Load(path, _cache, CPU);
        Assert.Equal(method, back.Method);
        Assert.Equal(detector.Neighbors, back.Neighbors);
        using var reread = DetectorScorer.For(back, models);
        Assert.Equal(scoresIn, Scores(reread, heldIn));
        Assert.Equal(scoresOut, Scores(reread, digits));
        Assert.Equal(detector.Threshold, back.Threshold);
    }

    [Fact]
    public void Knn_with_no_taps_named_reads_the_last_feature_and_the_texture_of_the_stage_before_it_by_their_minimum()
    {
        var model = LeNet();
        var fashion = Images(BenchmarkData.FashionMnist, 0, 260);
        var digits = Images(BenchmarkData.Mnist, 0, 60);
        var request = new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Knn, Neighbors = 1 };
        var detector = DetectorFactory.Create(request, fashion.Take(200).ToList(), null, null, null, CancellationToken.None);
        // LeNet's last feature is fc1 (128 wide); the deepest map before it is conv2 (64 channels), read as its texture.
        Assert.Equal(new[] { "fc1", "conv2" }, detector.Layers.Select(l => l.Name));
        Assert.Equal(new[] { "fc1", "conv2_std" }, detector.Layers.Select(l => l.Key));
        Assert.Equal(new TapReduction?[] { null, TapReduction.SpatialStd }, detector.Layers.Select(l => l.Reduction));
        Assert.Equal(LayerCombination.Minimum, detector.Combination);
        Assert.Equal(new[] { 128, 64 }, detector.Banks.Select(b => b.Dimension));

        // The texture features are each channel's population standard deviation over the map's positions.
        var two = fashion.Take(2).ToList();
        using (var scope = NewDisposeScope())
        {
            var input = ImageTensors.FromSamples(two, model.Info.InputSpec, model.Device);
            var map = model.ForwardTapRaw(input, model.TapIndex("conv2")).contiguous();
            var features = FeatureSpaceScorer.Features(model, input, new[] { new FeatureLayer(model.TapIndex("conv2"), TapReduction.SpatialStd) })[0];
            long c = map.shape[1], positions = map.shape[2] * map.shape[3];
            Assert.True(positions > 1);
            var values = map.to_type(ScalarType.Float64).data<double>().ToArray();
            var got = features.to_type(ScalarType.Float64).data<double>().ToArray();
            for (int i = 0; i < 2; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    var v = Enumerable.Range(0, (int)positions).Select(p => values[(i * c + ch) * positions + p]).ToArray();
                    double mean = v.Average();
                    Assert.Equal(Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / positions), got[i * c + ch], 4);
                }
        }

        // A score is the least standardized layer score; the held-out threshold keeps about its share.
        var heldIn = fashion.Skip(200).ToList();
        using var scorer = DetectorScorer.For(detector, new[] { model });
        var batch = scorer.Score(heldIn.Take(10).ToList(), 0);
        for (int i = 0; i < 10; i++)
        {
            double expected = Enumerable.Range(0, 2).Min(j => (batch.TapScores[i, j] - detector.Layers[j].Mean) / detector.Layers[j].Std);
            Assert.Equal(expected, scorer.Combine(new[] { batch.TapScores[i, 0], batch.TapScores[i, 1] }), 12);
        }
        var scoresIn = Scores(scorer, heldIn);
        var scoresOut = Scores(scorer, digits);
        Assert.True(OodMetrics.Compute(scoresIn, scoresOut, "Knn").AUROC > 0.9);

        // Written as format 3, read back, scored bit for bit.
        string path = Path.Combine(_folder, "knn-texture.fssd.yaml");
        DetectorDocument.Save(detector, new[] { model }, path);
        Assert.Equal(3, DetectorDocument.Read(path).FormatVersion);
        var (back, models) = DetectorLoader.Load(path, _cache, CPU);
        Assert.Equal(LayerCombination.Minimum, back.Combination);
        Assert.Equal(detector.Layers.Select(l => l.Key), back.Layers.Select(l => l.Key));
        Assert.Equal(TapReduction.SpatialStd, back.Banks[1].Reduction);
        using var reread = DetectorScorer.For(back, models);
        Assert.Equal(scoresIn, Scores(reread, heldIn));
        Assert.Equal(scoresOut, Scores(reread, digits));

        // A file that says format 2 cannot carry a texture layer, and a bank must be reduced as its layer.
        string text = File.ReadAllText(path);
        string old = Path.Combine(_folder, "knn-texture-v2.fssd.yaml");
        File.WriteAllText(old, text.Replace("formatVersion: 3", "formatVersion: 2"));
        Assert.Contains("format 2 cannot say", Assert.Throws<FssdModelException>(() => DetectorDocument.Read(old, new ReadOptions(true))).Message);
        string mismatched = Path.Combine(_folder, "knn-texture-bank.fssd.yaml");
        int bankAt = text.IndexOf("banks:", StringComparison.Ordinal);
        File.WriteAllText(mismatched, text[..bankAt] + text[bankAt..].Replace("reduction: SpatialStd", "reduction: SpatialMean"));
        Assert.Contains("were reduced by 'SpatialMean'", Assert.Throws<FssdModelException>(() => DetectorDocument.Read(mismatched, new ReadOptions(true))).Message);
    }

    [Fact]
    public void Knn_layers_join_an_FSSD_detector_as_the_mean_of_standardised_scores_and_survive_its_file()
    {
        var model = LeNet();
        var validation = Images(BenchmarkData.FashionMnist, 0, 100);
        var reference = Images(BenchmarkData.FashionMnist, 100, 150);
        var fresh = Images(BenchmarkData.FashionMnist, 250, 40).Concat(Images(BenchmarkData.Mnist, 0, 40)).ToList();
        var fssd = DetectorFactory.Create(new FssdDetectorRequest { Models = new[] { model }, Layers = new[] { "logits" } }, validation, null, null, null, CancellationToken.None);
        var both = DetectorFactory.WithNeighbors(fssd, model, reference, 1, 0, null, CancellationToken.None);
        Assert.Equal(DetectorMethod.FSSD, both.Method);
        Assert.Equal(new[] { "logits", "knn_fc1", "knn_conv2_std" }, both.Layers.Select(l => l.Key));
        Assert.Equal(new DetectorMethod?[] { null, DetectorMethod.Knn, DetectorMethod.Knn }, both.Layers.Select(l => l.Method));
        Assert.Equal(new[] { 150, 150 }, both.Banks.Select(b => b.Count));

        // Its score is the mean of three standardised scores: the FSSD detector's own, and each Knn layer's.
        double[] own, combined;
        double[,] columns;
        using (var a = DetectorScorer.For(fssd, new[] { model })) own = Scores(a, fresh);
        using (var b = DetectorScorer.For(both, new[] { model }))
        {
            combined = Scores(b, fresh);
            var batch = b.Score(fresh, 0);
            columns = batch.TapScores;
        }
        using (var r = DetectorScorer.For(fssd, new[] { model }))
        {
            var onReference = Scores(r, reference);
            double mean = onReference.Average(), std = Math.Sqrt(onReference.Sum(v => (v - mean) * (v - mean)) / onReference.Length);
            for (int i = 0; i < fresh.Count; i++)
            {
                double expected = ((own[i] - mean) / std + Enumerable.Range(1, 2).Sum(j => (columns[i, j] - both.Layers[j].Mean) / both.Layers[j].Std)) / 3;
                Assert.Equal(expected, combined[i], 9);
                Assert.Equal(own[i], columns[i, 0], 9); // the FSSD column is the threshold-only detector's score
            }
        }
        Assert.True(OodMetrics.Compute(combined.Take(40).ToArray(), combined.Skip(40).ToArray(), "FSSD + Knn").AUROC > 0.9);

        // Written as format 3 and read back, it scores bit for bit; Knn layers cannot be added twice, nor to a Knn detector.
        string path = Path.Combine(_folder, "fssd-knn.fssd.yaml");
        DetectorDocument.Save(both, new[] { model }, path);
        var (back, models) = DetectorLoader.Load(path, _cache, CPU);
        using (var reread = DetectorScorer.For(back, models)) Assert.Equal(combined, Scores(reread, fresh));
        Assert.Throws<ArgumentException>(() => DetectorFactory.WithNeighbors(both, model, reference, 1, 0, null, CancellationToken.None));
        var knn = DetectorFactory.Create(new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Knn }, reference, null, null, null, CancellationToken.None);
        Assert.Throws<ArgumentException>(() => DetectorFactory.WithNeighbors(knn, model, reference, 1, 0, null, CancellationToken.None));
    }

    [Fact]
    public void A_detector_file_read_again_is_parsed_once_while_unchanged_and_at_most_eight_files_are_kept()
    {
        var model = LeNet();
        var inputs = Images(BenchmarkData.FashionMnist, 0, 30);
        var knn = DetectorFactory.Create(new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Knn, Layers = new[] { "fc1" } }, inputs, null, null, null, CancellationToken.None);
        string path = Path.Combine(_folder, "kept.fssd.yaml");
        DetectorDocument.Save(knn, new[] { model }, path);
        var first = DetectorLoader.Load(path, _cache, CPU).Detector;
        Assert.Same(first, DetectorLoader.Load(path, _cache, CPU).Detector);
        // The file rewritten at the same path (another threshold) is read again.
        DetectorDocument.Save(knn with { Threshold = knn.Threshold - 1 }, new[] { model }, path);
        Assert.Equal(knn.Threshold - 1, DetectorLoader.Load(path, _cache, CPU).Detector.Threshold);
        // Ten more files: the process keeps eight.
        for (int i = 0; i < 10; i++)
        {
            string other = Path.Combine(_folder, $"kept-{i}.fssd.yaml");
            DetectorDocument.Save(knn, new[] { model }, other);
            DetectorLoader.Load(other, _cache, CPU);
        }
        var kept = (System.Collections.ICollection)typeof(DetectorLoader).GetField("Kept", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        Assert.InRange(kept.Count, 1, 8);
    }

    [Fact]
    public void The_default_choice_keeps_FSSD_for_a_classifier_and_follows_an_explicit_method_or_FSSD_option()
    {
        var model = LeNet();
        var plain = new FssdDetectorRequest { Models = new[] { model } };
        Assert.Equal(DetectorMethod.FSSD, DetectorChoice.Choose(plain, false).Method);
        Assert.Equal(DetectorMethod.Knn, DetectorChoice.Choose(new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Knn }, false).Method);
        var (method, reason) = DetectorChoice.Choose(new FssdDetectorRequest { Models = new[] { model }, OutlierFree = true }, false);
        Assert.Equal(DetectorMethod.FSSD, method);
        Assert.Contains("outlier-free", reason);
        // FSSD options with a feature-space method are refused, naming the option.
        var bad = new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Gaussian, Epsilon = 0.01 };
        var error = Assert.Throws<ArgumentException>(() => DetectorFactory.Create(bad, Images(BenchmarkData.FashionMnist, 0, 20), null, null, null, CancellationToken.None));
        Assert.Contains("epsilon", error.Message);
        // A tap too wide for a Gaussian's covariance is refused before anything is fitted.
        var wide = new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Gaussian, Layers = new[] { "conv2" } };
        Assert.Contains("conv2", Assert.Throws<FssdDataException>(() => DetectorFactory.Create(wide, Images(BenchmarkData.FashionMnist, 0, 20), null, null, null, CancellationToken.None)).Message);
        // Too few inputs for k.
        var knn = new FssdDetectorRequest { Models = new[] { model }, Method = DetectorMethod.Knn, Neighbors = 10 };
        Assert.Throws<FssdDataException>(() => DetectorFactory.Create(knn, Images(BenchmarkData.FashionMnist, 0, 10), null, null, null, CancellationToken.None));
    }
}
