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
using Xunit;

namespace Fssd.Engine.Tests;

/// <summary>
/// The engine used as a plain .NET library, as a C# program would: make detectors, score with them, save
/// them and read them back — no PowerShell anywhere.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public sealed class EngineApiTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"fssd-engine-api-{Guid.NewGuid():N}");
    private readonly ModelCache _cache = new();
    private readonly LoadedModel _model;

    public EngineApiTests()
    {
        NativeRuntime.EnsureLoaded();
        Directory.CreateDirectory(_folder);
        string manifest = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.yaml");
        _model = _cache.GetOrLoad(new ModelLoadRequest { Path = manifest }, TorchSharp.torch.CPU, out _);
    }

    public void Dispose()
    {
        foreach (var m in _cache.Loaded) _cache.Remove(m.Info.Id);
        Directory.Delete(_folder, recursive: true);
    }

    private static List<byte[]> Images(string dataset, int skip, int count)
    {
        var provisioner = new DatasetProvisioner(null);
        var set = DatasetReader.Load(provisioner.Open(dataset, "test", null, CancellationToken.None), 1, 28, 28, null, CancellationToken.None);
        return Enumerable.Range(skip, count).Select(i => set.Pixels.AsSpan(i * 784, 784).ToArray()).ToList();
    }

    private static double[] Scores(DetectorScorer scorer, IReadOnlyList<byte[]> inputs)
    {
        var result = new List<double>();
        for (int start = 0; start < inputs.Count; start += 64)
        {
            var part = inputs.Skip(start).Take(64).ToList();
            var batch = scorer.Score(part, start / 64);
            for (int i = 0; i < part.Count; i++) result.Add(scorer.Combine(Enumerable.Range(0, scorer.Keys.Count).Select(k => batch.TapScores[i, k]).ToArray()));
        }
        return result.ToArray();
    }

    [Fact]
    public void An_outlier_free_FSSD_detector_is_made_scored_saved_and_read_back_with_the_engine_alone()
    {
        var fashion = Images(BenchmarkData.FashionMnist, 0, 300);
        var request = new FssdDetectorRequest { Models = new[] { _model }, OutlierFree = true, Seed = 3, Name = "engine-only" };
        var detector = DetectorFactory.Create(request, fashion.Take(200).ToList(), null, null, null, CancellationToken.None);
        Assert.Equal(DetectorMethod.FSSD, detector.Method);
        Assert.Equal(CalibrationKind.OutlierFree, detector.Calibration);
        Assert.Equal(PseudoOutliers.DefaultKinds, detector.PseudoOutlierKinds);

        var heldIn = fashion.Skip(200).ToList();
        var digits = Images(BenchmarkData.Mnist, 0, 100);
        double[] scoresIn, scoresOut;
        using (var scorer = DetectorScorer.For(detector, new[] { _model }))
        {
            scoresIn = Scores(scorer, heldIn);
            scoresOut = Scores(scorer, digits);
        }
        Assert.True(OodMetrics.Compute(scoresIn, scoresOut, "FSSD").AUROC > 0.9);

        string path = Path.Combine(_folder, "engine-only.fssd.yaml");
        DetectorDocument.Save(detector, new[] { _model }, path);
        var (back, models) = DetectorLoader.Load(path, _cache, TorchSharp.torch.CPU);
        using var reread = DetectorScorer.For(back, models);
        Assert.Equal(scoresIn, Scores(reread, heldIn));
        Assert.Equal(detector.Threshold, back.Threshold);
        Assert.Equal(detector.Trials.Count, back.Trials.Count);
        Assert.Single(back.Trials, t => t.Chosen);
    }

    [Fact]
    public void A_Mahalanobis_detector_carries_its_class_Gaussians_into_its_file_and_scores_the_same_from_it()
    {
        var provisioner = new DatasetProvisioner(null);
        var training = DatasetReader.Load(provisioner.Open(BenchmarkData.FashionMnist, "train", 2000, CancellationToken.None), 1, 28, 28, null, CancellationToken.None);
        var fashion = Images(BenchmarkData.FashionMnist, 0, 120);
        var digits = Images(BenchmarkData.Mnist, 0, 120);
        var detector = BaselineCalibrator.Create(DetectorMethod.Mahalanobis, new[] { _model }, fashion.Take(60).ToList(), digits.Take(60).ToList(),
            training, new[] { "fc1", "logits" }, 0.95, 1, 2, "engine test", null, CancellationToken.None);
        Assert.Equal(2, detector.Gaussians.Count);
        Assert.Equal(128, detector.Gaussians[0].Dimension);
        Assert.Equal(10, detector.Gaussians[0].Classes);

        double[] before;
        using (var scorer = DetectorScorer.For(detector, new[] { _model })) before = Scores(scorer, fashion.Skip(60).Concat(digits.Skip(60)).ToList());
        string path = Path.Combine(_folder, "mahalanobis.fssd.yaml");
        DetectorDocument.Save(detector, new[] { _model }, path);
        var (back, models) = DetectorLoader.Load(path, _cache, TorchSharp.torch.CPU);
        Assert.Equal(DetectorMethod.Mahalanobis, back.Method);
        using var reread = DetectorScorer.For(back, models);
        Assert.Equal(before, Scores(reread, fashion.Skip(60).Concat(digits.Skip(60)).ToList()));
    }
}
