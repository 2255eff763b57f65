using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using Fssd.Engine.Data;
using Fssd.Engine.Runtime;

namespace Fssd.Engine.Benchmarks;

/// <summary>
/// The paper's benchmark C (ImageNet dogs against non-dogs) on FashionMNIST: near OoD from the same
/// dataset. A LeNet is trained on five classes (the default recipe), the test images of the other five are
/// the OoD set; both halves, 0–4 in and 5–9 out, then the reverse. Every method is calibrated on 1,000 +
/// 1,000 validation images of the halves' test images and scored on the rest; FSSD per tap (the paper's
/// Figure 6) is kept for the report. Classifiers are cached in the model folder under names that carry
/// the classes, a hash of the training images and labels, the seed, the epochs and the image count.
/// </summary>
public static class FashionMnistHeldOutClasses
{
    public const string Name = "FashionMnistHeldOutClasses";

    private const int AccuracyImages = 2000;

    /// <summary>The two halves: the in-distribution classes of each.</summary>
    public static IReadOnlyList<int[]> Halves { get; } = new[] { new[] { 0, 1, 2, 3, 4 }, new[] { 5, 6, 7, 8, 9 } };

    public static List<BenchmarkResult> Run(BenchmarkOptions options, FssdSession session, Action<string> progress, CancellationToken cancellation)
    {
        var methods = MethodSuite.Resolve(options.Methods, MethodSuite.AllMethods);
        var load = FashionMnistVsMnist.Loader(options, progress, cancellation);
        var fashionTrain = load(BenchmarkData.FashionMnist, "train");
        var fashionTest = load(BenchmarkData.FashionMnist, "test");
        ImageSet? kana = null;
        var results = new List<BenchmarkResult>();
        foreach (var inClasses in Halves)
        {
            var total = Stopwatch.StartNew();
            var outClasses = Enumerable.Range(0, 10).Except(inClasses).ToArray();
            string variant = $"in {inClasses[0]}-{inClasses[^1]}, out {outClasses[0]}-{outClasses[^1]}";
            var names = inClasses.Select(c => BenchmarkData.FashionMnistClasses[c]).ToList();
            var train = Classes(fashionTrain, inClasses, $"FashionMNIST/train classes {inClasses[0]}-{inClasses[^1]}");
            var testInSet = Classes(fashionTest, inClasses, $"FashionMNIST/test classes {inClasses[0]}-{inClasses[^1]}");
            var testOutSet = Classes(fashionTest, outClasses, $"FashionMNIST/test classes {outClasses[0]}-{outClasses[^1]}");
            // Training reports its accuracy on the first 2,000 of the five classes' test images.
            var accuracySet = testInSet.Count > AccuracyImages ? testInSet.Subset(Enumerable.Range(0, AccuracyImages).ToList(), testInSet.Name) : testInSet;
            var (valIn, testIn) = FashionMnistVsMnist.Draw(testInSet, options.ValidationCount, options.TestCount, options.Seed);
            var (valOut, testOut) = FashionMnistVsMnist.Draw(testOutSet, options.ValidationCount, options.TestCount, options.Seed + 1);

            int images = options.TrainingCount == 0 ? train.Count : Math.Min(options.TrainingCount, train.Count);
            var used = images < train.Count ? train.Subset(Enumerable.Range(0, images).ToList(), train.Name) : train;
            string prefix = $"fmnist-c{string.Concat(inClasses)}-lenet-{ContentHash(used)}";
            progress($"{variant}: classifier on {images} training images of {string.Join(", ", names)}.");
            var clock = Stopwatch.StartNew();
            var model = MethodSuite.TrainOrReuse(session, options.ModelDirectory, $"{prefix}-seed1-e{options.ClassifierEpochs}-n{images}", opts =>
            {
                opts.Seed = 1;
                opts.Epochs = options.ClassifierEpochs;
            }, () => used, accuracySet, names, null, progress, cancellation);
            double classifierSeconds = clock.Elapsed.TotalSeconds;

            var result = new BenchmarkResult
            {
                Benchmark = Name, Variant = variant,
                InName = $"classes {inClasses[0]}-{inClasses[^1]}", OutName = $"classes {outClasses[0]}-{outClasses[^1]}",
                Options = options, ValidationCount = options.ValidationCount, StartedUtc = DateTime.UtcNow, Machine = FashionMnistVsMnist.MachineDescription(session),
            };
            var accuracy = model.Info.Training?.Epochs.LastOrDefault()?.Accuracy;
            result.Notes.Add($"In-distribution: {string.Join(", ", inClasses.Select(c => $"{c} {BenchmarkData.FashionMnistClasses[c]}"))}; " +
                $"OoD: {string.Join(", ", outClasses.Select(c => $"{c} {BenchmarkData.FashionMnistClasses[c]}"))}.");
            result.Notes.Add($"Classifier: {model.Info.Name}, LeNet, {options.ClassifierEpochs} epoch(s) on {images} training images of the five classes" +
                $"{(accuracy is double a ? $", accuracy {a:P2} on {accuracySet.Count} of their test images" : "")} ({classifierSeconds:F0} s, 0 when cached).");
            result.Notes.Add("Outlier exposure: that classifier fine-tuned with the Kana training split as outliers (the paper used CelebA for its ImageNet dogs benchmark).");

            var context = new MethodContext
            {
                Model = model, Training = () => train, FullTrainingCount = train.Count, HeldOut = accuracySet, ClassNames = names, ModelPrefix = prefix,
                Outliers = () => kana ??= load(BenchmarkData.Kana, "train"),
                TrainingDescription = $"FashionMNIST training images of classes {inClasses[0]}-{inClasses[^1]}",
            };
            List<double[]>? tapIn = null, tapOut = null;
            using (var suite = new MethodSuite(context, options, session, progress, cancellation))
            {
                foreach (var method in methods)
                {
                    var calibrated = suite.Calibrate(method, valIn, valOut);
                    var scoring = Stopwatch.StartNew();
                    progress($"{variant}, {method}: scoring {testIn.Count} + {testOut.Count} test inputs.");
                    double[] scoresIn, scoresOut;
                    if (calibrated.ScoreKeepingTaps is { } keeping)
                    {
                        tapIn = new List<double[]>();
                        tapOut = new List<double[]>();
                        (scoresIn, scoresOut) = (keeping(testIn, tapIn), keeping(testOut, tapOut));
                    }
                    else (scoresIn, scoresOut) = (calibrated.Score(testIn), calibrated.Score(testOut));
                    double seconds = calibrated.CalibrationSeconds + scoring.Elapsed.TotalSeconds;
                    result.Rows.Add(FashionMnistVsMnist.Row(Name, variant, calibrated, scoresIn, scoresOut, seconds, null));
                    result.TestScores.Add((method, scoresIn, scoresOut));
                    progress($"{variant}, {method}: AUROC {result.Rows[^1].AUROC:P2} ({seconds:F0} s; {calibrated.Settings}).");
                }
                tapIn ??= suite.TapScores(testIn);
                tapOut ??= suite.TapScores(testOut);
            }
            for (int k = 0; k < model.Taps.Count; k++)
                result.TapScores.Add((model.Taps[k].Name, tapIn.Select(r => r[k]).ToArray(), tapOut.Select(r => r[k]).ToArray()));
            result.Seconds = total.Elapsed.TotalSeconds;
            results.Add(result);
        }
        return results;
    }

    /// <summary>The images of <paramref name="classes"/>, in their order in the set, labelled 0…k−1 in the order of <paramref name="classes"/>.</summary>
    internal static ImageSet Classes(ImageSet set, IReadOnlyList<int> classes, string name)
    {
        if (set.Labels is null) throw new FssdDataException($"'{set.Name}' has no labels to split classes by.");
        var indices = Enumerable.Range(0, set.Count).Where(i => classes.Contains(set.Labels[i])).ToList();
        var subset = set.Subset(indices, name);
        var labels = subset.Labels!.Select(l => classes.ToList().IndexOf(l)).ToArray();
        return new ImageSet(name, subset.Pixels, labels, subset.Count, set.Channels, set.Height, set.Width,
            classes.Select(c => set.ClassNames[c]).ToList(), subset.Sources, 0);
    }

    /// <summary>The first 8 hex digits of the SHA-256 of a set's pixels and labels: cached classifiers are named by what they were trained on.</summary>
    internal static string ContentHash(ImageSet set)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(set.Pixels);
        if (set.Labels is not null) sha.AppendData(set.Labels.SelectMany(BitConverter.GetBytes).ToArray());
        return Convert.ToHexString(sha.GetHashAndReset())[..8].ToLowerInvariant();
    }
}
