using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

[Collection(TorchRandomCollection.Name)]
public class ScoringWorkersTests
{
    private static BatchScores Marker(int value) => new(new double[,] { { value } }, new[] { value }, new[] { 0.0 });

    [Fact]
    public void Results_come_back_in_submission_order_whatever_order_they_finish_in()
    {
        using var workers = new ScoringWorkers<int>(3, 1, CancellationToken.None);
        var taken = new List<int>();
        for (int i = 0; i < 12; i++)
        {
            int k = i;
            // Earlier batches take longer, so they finish after later ones.
            workers.Submit(k, () => { Thread.Sleep((12 - k) * 3); return Marker(k); });
            while (workers.TryTake(workers.InFlight >= workers.Capacity, out int tag, out var scores))
            {
                Assert.Equal(tag, scores!.Predicted[0]);
                taken.Add(tag);
            }
        }
        while (workers.TryTake(true, out int tag, out _)) taken.Add(tag);
        Assert.Equal(Enumerable.Range(0, 12), taken);
        Assert.Equal(0, workers.InFlight);
    }

    [Fact]
    public void A_failed_batch_rethrows_on_the_taking_thread_and_the_next_batches_still_score()
    {
        using var workers = new ScoringWorkers<int>(2, 1, CancellationToken.None);
        workers.Submit(0, () => Marker(0));
        // The failing batch ends after the caller has started waiting for it, and once before: the exception is the batch's own either way.
        workers.Submit(1, () => { Thread.Sleep(50); throw new FssdDataException("batch 1 is bad"); });
        workers.Submit(2, () => Marker(2));
        Assert.True(workers.TryTake(true, out int first, out _));
        Assert.Equal(0, first);
        var e = Assert.Throws<FssdDataException>(() => workers.TryTake(true, out _, out _));
        Assert.Contains("batch 1", e.Message);
        Assert.True(workers.TryTake(true, out int third, out var scores));
        Assert.Equal(2, third);
        Assert.Equal(2, scores!.Predicted[0]);
    }

    [Fact]
    public void Workers_leave_the_callers_libtorch_thread_count_as_it_was()
    {
        _ = FssdSession.Current;
        int before = get_num_threads();
        using (var workers = new ScoringWorkers<int>(2, 1, CancellationToken.None))
        {
            workers.Submit(0, () => Marker(get_num_threads()));
            Assert.True(workers.TryTake(true, out _, out var scores));
            Assert.Equal(1, scores!.Predicted[0]);
        }
        Assert.Equal(before, get_num_threads());
    }

    [Fact]
    public void Two_scoring_threads_give_the_scores_of_one()
    {
        var model = FssdSession.Current.Models.GetOrLoad(
            new ModelLoadRequest { Path = ModelReference.FixturePath("lenet.pt"), Architecture = "LeNet" }, FssdSession.Current.Device, out _);
        var center = CenterEstimator.FromNoise(model, 64, 3, Fssd.CenterSource.UniformNoise);
        using var scorer = new FssdScorer(model, center, Enumerable.Range(0, model.Taps.Count).ToArray());
        manual_seed(11);
        using var inputs = rand(6 * 32, 1, 28, 28).mul(255).to_type(ScalarType.Byte);
        var samples = Enumerable.Range(0, 6 * 32).Select(i => { using var row = inputs[i]; return row.data<byte>().ToArray(); }).ToList();
        double[] weights = { 0.4, 0.3, 0.2, 0.1 };
        var alone = Enumerable.Range(0, 6).Select(b => scorer.ScoreBytes(samples.Skip(b * 32).Take(32).ToList(), 0.05, PerturbationMode.Sign, weights)).ToList();
        using var workers = new ScoringWorkers<int>(2, 1, CancellationToken.None);
        for (int b = 0; b < 6; b++)
        {
            var part = samples.Skip(b * 32).Take(32).ToList();
            workers.Submit(b, () => scorer.ScoreBytes(part, 0.05, PerturbationMode.Sign, weights));
        }
        while (workers.TryTake(true, out int b, out var together))
            for (int i = 0; i < 32; i++)
                for (int k = 0; k < model.Taps.Count; k++)
                    Assert.True(Math.Abs(together!.TapScores[i, k] - alone[b].TapScores[i, k]) <= 1e-5 * Math.Abs(alone[b].TapScores[i, k]),
                        $"batch {b}, input {i}, tap {k}: {together.TapScores[i, k]} on two threads, {alone[b].TapScores[i, k]} on one");
    }
}
