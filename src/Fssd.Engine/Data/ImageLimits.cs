using System;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>
/// What image decoding may do: the largest size a file may declare, and how much memory full-frame
/// decodes may hold at once across every decoding thread of the process. Files from folders nobody has
/// looked at are decoded, so both follow what the module chooses, never what a file's header claims.
/// </summary>
public sealed record ImageLimits
{
    /// <summary>
    /// 250 megapixels: above any camera's still image (the largest phone sensors are about 200), far below
    /// the sizes a crafted header declares (a PNG header can declare 4 billion × 4 billion).
    /// </summary>
    public const long DefaultMaxPixels = 250_000_000;

    /// <summary>
    /// 512 MiB for the decodes that need a buffer of the whole frame (PNG, GIF, BMP, lossless WebP, progressive
    /// JPEG), all threads together: one 128-megapixel PNG at a time, or many small ones side by side.
    /// </summary>
    public const long DefaultDecodeMemoryBytes = 512L << 20;

    /// <summary>The largest width × height a file may declare; larger files are refused before decoding.</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>Bytes that decodes needing a full frame may hold at once, across all decoding threads.</summary>
    public long DecodeMemoryBytes { get; init; } = DefaultDecodeMemoryBytes;

    private static ImageLimits _current = new();

    /// <summary>The process's limits (the session sets them; Set-FssdContext changes them).</summary>
    public static ImageLimits Current
    {
        get => Volatile.Read(ref _current);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            Volatile.Write(ref _current, value);
        }
    }

    /// <summary>Both limits positive; the memory limit at least what one 1-megapixel RGBA frame needs.</summary>
    public void Validate()
    {
        if (MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "The pixel limit must be at least 1.");
        if (DecodeMemoryBytes < (4L << 20))
            throw new ArgumentOutOfRangeException(nameof(DecodeMemoryBytes), DecodeMemoryBytes, "The decode memory limit must be at least 4 MiB.");
    }
}

/// <summary>
/// The process-wide budget for large decode buffers: a decode that needs more than
/// <see cref="SmallBytes"/> reserves its estimate first and waits while others hold the budget, so parallel
/// decoding of a folder of large or hostile files never holds more than the limit at once.
/// </summary>
public static class DecodeMemory
{
    /// <summary>Decodes below this (a 1-megapixel RGBA frame) do not reserve: one per decoding thread is harmless.</summary>
    public const long SmallBytes = 4L << 20;

    private static readonly object Gate = new();
    private static long _inUse;

    /// <summary>Bytes reserved at this moment (for tests and diagnostics).</summary>
    public static long InUse
    {
        get { lock (Gate) return _inUse; }
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> for decoding <paramref name="name"/>, waiting while other decodes
    /// hold the budget; a need above the whole limit is that file's error.
    /// </summary>
    public static IDisposable Reserve(long bytes, string name, ImageLimits limits, CancellationToken cancellation)
    {
        if (bytes < SmallBytes) return Reservation.None;
        if (bytes > limits.DecodeMemoryBytes)
            throw new FssdDataException(
                $"'{name}' needs about {Mib(bytes)} MiB to decode, more than the decode memory limit of {Mib(limits.DecodeMemoryBytes)} MiB; " +
                "raise it with Set-FssdContext -DecodeMemoryLimit if the file is trusted.");
        lock (Gate)
        {
            // A lone decode always proceeds (the limit may have been lowered while others waited).
            while (_inUse > 0 && _inUse + bytes > limits.DecodeMemoryBytes)
            {
                cancellation.ThrowIfCancellationRequested();
                Monitor.Wait(Gate, 100);
            }
            _inUse += bytes;
        }
        return new Reservation(bytes);
    }

    private static void Release(long bytes)
    {
        lock (Gate)
        {
            _inUse -= bytes;
            Monitor.PulseAll(Gate);
        }
    }

    internal static long Mib(long bytes) => (bytes + (1L << 20) - 1) >> 20;

    /// <summary>A held share of the budget; disposing returns it (once).</summary>
    private sealed class Reservation : IDisposable
    {
        internal static readonly Reservation None = new(0);
        private long _bytes;

        internal Reservation(long bytes) => _bytes = bytes;

        public void Dispose()
        {
            long bytes = Interlocked.Exchange(ref _bytes, 0);
            if (bytes > 0) Release(bytes);
        }
    }
}
