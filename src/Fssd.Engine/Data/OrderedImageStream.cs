using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace Fssd.Engine.Data;

/// <summary>An input decoded for a model (channels first, at the model's size), or why it could not be.</summary>
/// <summary>
/// One input made to fit a model: its pixels (channels first), or why it could not be read; what it was before
/// (<paramref name="Original"/>, when known), and whether <paramref name="Path"/> names a file.
/// </summary>
public sealed record DecodedInput(string Path, byte[]? Pixels, FssdDataException? Error, SourceImage? Original = null, bool IsFile = true);

/// <summary>
/// Decodes files on worker threads while the caller runs the model, and hands them back in the
/// order they were added. At most <see cref="Capacity"/> files are in flight, so memory stays
/// bounded however many files are added.
/// </summary>
public sealed class OrderedImageStream : IDisposable
{
    private readonly Queue<Task<DecodedInput>> _pending = new();
    private readonly SemaphoreSlim _workers;
    private readonly FssdInputSpec _spec;
    private readonly CancellationToken _cancellation;

    public OrderedImageStream(FssdInputSpec spec, int capacity, CancellationToken cancellation)
    {
        _spec = spec;
        Capacity = capacity;
        _cancellation = cancellation;
        _workers = new SemaphoreSlim(Math.Max(1, Environment.ProcessorCount));
    }

    public int Capacity { get; }
    public int Count => _pending.Count;

    /// <summary>Bytes per decoded input (C × H × W).</summary>
    public int SampleSize => _spec.Channels * _spec.Height * _spec.Width;

    /// <summary>Queues a file for decoding; waits for the oldest one first when the stream is full.</summary>
    public void Add(string path)
    {
        if (_pending.Count >= Capacity) _pending.Peek().Wait(_cancellation);
        _pending.Enqueue(Task.Run(async () =>
        {
            await _workers.WaitAsync(_cancellation).ConfigureAwait(false);
            try
            {
                return Decode(path);
            }
            finally
            {
                _workers.Release();
            }
        }, _cancellation));
    }

    /// <summary>Queues an input decoded already (an in-memory sample), in order with the files.</summary>
    public void Add(DecodedInput ready)
    {
        if (_pending.Count >= Capacity) _pending.Peek().Wait(_cancellation);
        _pending.Enqueue(Task.FromResult(ready));
    }

    /// <summary>The first <paramref name="count"/> inputs in order, waiting for any still decoding.</summary>
    public List<DecodedInput> Take(int count)
    {
        var taken = new List<DecodedInput>(Math.Min(count, _pending.Count));
        while (taken.Count < count && _pending.Count > 0)
        {
            var task = _pending.Dequeue();
            task.Wait(_cancellation);
            taken.Add(task.Result);
        }
        return taken;
    }

    /// <summary>One file's pixels, or its error: nothing that goes wrong with one file escapes to the others.</summary>
    private DecodedInput Decode(string path)
    {
        try
        {
            var raw = ImageDecoder.DecodeAt(path, _spec.Channels, _spec.Height, _spec.Width, _cancellation);
            return new DecodedInput(path, DatasetReader.ChannelsFirst(raw), null, raw.Original);
        }
        catch (FssdDataException e)
        {
            return new DecodedInput(path, null, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new DecodedInput(path, null, new FssdDataException($"'{path}' could not be decoded: {e.Message}", e));
        }
    }

    public void Dispose()
    {
        try
        {
            Task.WaitAll(_pending.ToArray());
        }
        catch (AggregateException)
        {
        }
        _workers.Dispose();
    }
}
