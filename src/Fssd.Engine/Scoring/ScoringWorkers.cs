using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TorchSharp;

namespace Fssd.Engine.Scoring;

/// <summary>
/// Scores batches on dedicated threads, each running libtorch with one intra-op thread, while the
/// caller (a cmdlet's pipeline thread) goes on reading paths and writing results; results come back in
/// the order the batches were submitted.
/// <para>
/// Why several single-threaded workers rather than one worker with every core: LeNet's operators are
/// small, so splitting each across two threads spends much of the second core on synchronisation.
/// Measured on the 2-core test machine, the shared-step FSSD at batch 128: two workers of one thread
/// 1,277–1,644 images/s against one worker of two threads 1,081–1,323, in the same runs (+17–27%).
/// </para>
/// </summary>
public sealed class ScoringWorkers<TTag> : IDisposable
{
    private sealed class Job
    {
        public required TTag Tag { get; init; }
        public required Func<BatchScores?> Work { get; init; }
        public TaskCompletionSource<BatchScores?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly BlockingCollection<Job> _queue = new();
    private readonly Queue<Job> _inOrder = new();
    private readonly Thread[] _threads;
    private readonly CancellationToken _cancellation;

    /// <summary>
    /// The workers for scoring on <paramref name="device"/> with <paramref name="threads"/> libtorch
    /// threads in all: on the CPU one single-threaded worker per thread (see the class remarks), at most
    /// <paramref name="maxWorkers"/> of them (the threads shared among those); a GPU is fed by one worker,
    /// which keeps every thread for the work around its kernels.
    /// </summary>
    public static ScoringWorkers<TTag> ForDevice(torch.Device device, int threads, CancellationToken cancellation, int maxWorkers = int.MaxValue)
    {
        threads = Math.Max(1, threads);
        if (device.type != DeviceType.CPU) return new ScoringWorkers<TTag>(1, threads, cancellation);
        int workers = Math.Clamp(maxWorkers, 1, threads);
        return new ScoringWorkers<TTag>(workers, Math.Max(1, threads / workers), cancellation);
    }

    /// <param name="workers">Threads scoring at once (at least 1).</param>
    /// <param name="threadsPerWorker">libtorch intra-op threads of each worker.</param>
    /// <param name="cancellation">Stops waiting (the caller's Ctrl+C).</param>
    public ScoringWorkers(int workers, int threadsPerWorker, CancellationToken cancellation)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "At least one worker is needed.");
        if (threadsPerWorker < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerWorker), threadsPerWorker, "At least one thread per worker is needed.");
        _cancellation = cancellation;
        Workers = workers;
        // Each worker sets its own thread count, which also changes libtorch's default for threads that
        // start later; the count the caller had is put back once every worker has set its own.
        int callerThreads = torch.get_num_threads();
        using var ready = new CountdownEvent(workers);
        _threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            _threads[i] = new Thread(() => Run(threadsPerWorker, ready))
            {
                IsBackground = true,
                Name = $"Fssd scoring {i + 1}/{workers}",
            };
            _threads[i].Start();
        }
        ready.Wait();
        if (threadsPerWorker != callerThreads) torch.set_num_threads(callerThreads);
    }

    /// <summary>How many threads score at once.</summary>
    public int Workers { get; }

    /// <summary>Batches submitted and not yet taken back.</summary>
    public int InFlight => _inOrder.Count;

    /// <summary>How many batches may be in flight before <see cref="Submit"/> should wait: two per worker.</summary>
    public int Capacity => 2 * Workers;

    /// <summary>Queues a batch; <paramref name="work"/> runs on a worker thread.</summary>
    public void Submit(TTag tag, Func<BatchScores?> work)
    {
        var job = new Job { Tag = tag, Work = work };
        _inOrder.Enqueue(job);
        _queue.Add(job, _cancellation);
    }

    /// <summary>
    /// The oldest batch's result when it is done (or, with <paramref name="wait"/>, once it is): false when
    /// nothing is in flight or the oldest is still scoring. A batch that failed rethrows its exception here.
    /// </summary>
    public bool TryTake(bool wait, out TTag tag, out BatchScores? scores)
    {
        tag = default!;
        scores = null;
        if (_inOrder.Count == 0) return false;
        var oldest = _inOrder.Peek();
        if (!oldest.Done.Task.IsCompleted)
        {
            if (!wait) return false;
            // Waits without throwing (Task.Wait would wrap a failed batch's exception in an AggregateException);
            // the result, or the batch's own exception, is read below.
            Task.WhenAny(oldest.Done.Task).Wait(_cancellation);
        }
        _inOrder.Dequeue();
        tag = oldest.Tag;
        scores = oldest.Done.Task.GetAwaiter().GetResult();
        return true;
    }

    private void Run(int threads, CountdownEvent ready)
    {
        try
        {
            // libtorch sets a thread's count from its process-wide default the first time the thread asks for
            // it; asking first makes the count set next this thread's own for good.
            _ = torch.get_num_threads();
            torch.set_num_threads(threads);
        }
        finally
        {
            ready.Signal();
        }
        foreach (var job in _queue.GetConsumingEnumerable())
        {
            try
            {
                job.Done.SetResult(job.Work());
            }
            catch (Exception e)
            {
                job.Done.SetException(e);
            }
        }
    }

    /// <summary>Lets the workers finish what is queued, then ends them.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var t in _threads) t.Join();
        _queue.Dispose();
    }
}
