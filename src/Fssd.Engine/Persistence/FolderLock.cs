using System;
using System.IO;
using System.Threading;

namespace Fssd.Engine.Persistence;

/// <summary>
/// An exclusive lock between processes (and threads) on a lock file: two sessions provisioning the same
/// dataset, or writing the same results file, take turns instead of racing. The lock file stays behind
/// (removing it on release would let a waiter lock a file that no longer has the name).
/// </summary>
public static class FolderLock
{
    public static IDisposable Acquire(string path, string what, TimeSpan? timeout = null, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(30));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                cancellation.ThrowIfCancellationRequested();
                Thread.Sleep(200);
            }
            catch (IOException e)
            {
                throw new FssdDataException($"Timed out waiting for another process {what} (lock file '{path}').", e);
            }
        }
    }
}
