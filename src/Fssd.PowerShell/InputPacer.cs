using System;
using System.Diagnostics;

namespace Fssd.PowerShell;

/// <summary>
/// When a batching cmdlet should score what it has queued without waiting for a full batch. A cmdlet writes
/// only while it is handed input, so results of a producer that pauses (a watcher, a crawler) would wait for
/// the batch to fill or the input to end; instead, an input that comes after a pause of <see cref="Idle"/>,
/// or queued inputs that have waited that long on the producer (the cmdlet's own time does not count), are
/// scored at once. A fast producer is not affected: its inputs come microseconds apart.
/// </summary>
public sealed class InputPacer
{
    /// <summary>How long input may pause, or queued inputs wait on the producer, before a partial batch is scored.</summary>
    public static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(200);

    private readonly Stopwatch _sinceInput = new();
    private TimeSpan _gap;
    private TimeSpan _waited;

    /// <summary>How many times a partial batch was scored because input paused.</summary>
    public int Pauses { get; private set; }

    /// <summary>From the end of BeginProcessing.</summary>
    public void Start() => _sinceInput.Restart();

    /// <summary>At the start of ProcessRecord, with how many inputs were queued then.</summary>
    public void Arrived(int queued)
    {
        _gap = _sinceInput.Elapsed;
        _waited = queued == 0 ? TimeSpan.Zero : _waited + _gap;
    }

    /// <summary>After the input is queued: whether to score all <paramref name="queued"/> now.</summary>
    public bool ShouldFlush(int queued)
    {
        if (queued == 0 || (_gap < Idle && _waited < Idle)) return false;
        Pauses++;
        _waited = TimeSpan.Zero;
        return true;
    }

    /// <summary>At the end of ProcessRecord.</summary>
    public void Left() => _sinceInput.Restart();
}
