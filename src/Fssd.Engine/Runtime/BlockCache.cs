using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Fssd.Engine.Runtime;

/// <summary>
/// The block cache under libtorch's CPU allocator (Linux): a small native library the build compiles
/// (src/native/fssd_block_cache.c) that keeps freed tensor buffers of 256 KiB and more for the next
/// batch instead of giving them back to glibc. Without it every batch faults its ~100 MB of activations
/// and gradients in again page by page from the threads PowerShell runs pipelines on; on the 2-core
/// test machine that cost 2–3 times the arithmetic (see docs/speed.md). Installed once, when the natives
/// load; FSSD_BLOCK_CACHE=0 leaves it out, and so does a build without a C compiler.
/// </summary>
public static unsafe class BlockCache
{
    /// <summary>Set to "0" before the module loads to run without the cache.</summary>
    public const string SwitchVariable = "FSSD_BLOCK_CACHE";

    /// <summary>The native library's file name on Linux.</summary>
    public const string LibraryFileName = "libFssdBlockCache.so";

    private static delegate* unmanaged<ulong*, void> _stats;

    /// <summary>"on (…)", or "off: " and why.</summary>
    public static string Status { get; private set; } = "off: the natives are not loaded yet";

    /// <summary>Whether libtorch's allocations go through the cache.</summary>
    public static bool Active => _stats != null;

    /// <summary>Loads the cache from <paramref name="directory"/> and routes libc10's allocations through it.</summary>
    internal static void Install(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            Status = "off: only Linux (glibc) needs it";
            return;
        }
        if (Environment.GetEnvironmentVariable(SwitchVariable) == "0")
        {
            Status = $"off: {SwitchVariable}=0";
            return;
        }
        string path = Path.Combine(directory, LibraryFileName);
        if (!File.Exists(path))
        {
            Status = $"off: '{LibraryFileName}' is not in the module (built without a C compiler)";
            return;
        }
        try
        {
            IntPtr handle = NativeLibrary.Load(path);
            var install = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(handle, "fssd_block_cache_install");
            IntPtr name = Marshal.StringToHGlobalAnsi("libc10.so");
            int patched;
            try { patched = install(name); }
            finally { Marshal.FreeHGlobal(name); }
            if (patched <= 0)
            {
                Status = patched == 0
                    ? "off: libc10.so's posix_memalign and free were not found"
                    : $"off: {-patched} of libc10.so's allocation entries could not be written";
                return;
            }
            _stats = (delegate* unmanaged<ulong*, void>)NativeLibrary.GetExport(handle, "fssd_block_cache_stats");
            Status = $"on ({patched} entries of libc10.so)";
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            Status = $"off: '{path}' could not be loaded: {e.Message}";
        }
    }

    /// <summary>The cache's counters now, or null where it is not installed.</summary>
    public static BlockCacheStats? Stats()
    {
        if (_stats == null) return null;
        var values = stackalloc ulong[5];
        _stats(values);
        return new BlockCacheStats((long)values[0], (long)values[1], (long)values[2], (long)values[3], (long)values[4]);
    }
}

/// <summary>
/// The block cache's counters: bytes held for reuse, blocks handed out now, allocations served from the
/// cache (hits) or from glibc (misses), and blocks given back to glibc because the cache was full.
/// </summary>
public sealed record BlockCacheStats(long CachedBytes, long BlocksInUse, long Hits, long Misses, long Released);
