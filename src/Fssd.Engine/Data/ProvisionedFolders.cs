using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>
/// The folders of provisioned datasets under a data root: each built in a staging folder, checked, and
/// renamed into place under a lock file; its files' hashes recorded when it is built and verified (against
/// pinned hashes where the content is fixed) whenever it is used.
/// </summary>
public sealed class ProvisionedFolders
{
    private readonly Action<string> _log;

    public ProvisionedFolders(string root, Action<string> log)
    {
        Root = root;
        _log = log;
    }

    public string Root { get; }

    /// <summary>Every file present, and the record of their hashes made when the folder was built.</summary>
    public bool IsComplete(string folderName, IReadOnlyList<ProvisionedFile> files)
    {
        string folder = Path.Combine(Root, folderName);
        return files.All(f => File.Exists(Path.Combine(folder, f.FileName))) && File.Exists(Path.Combine(folder, ChecksumFile));
    }

    /// <summary>The hashes of a provisioned folder's files, written when it is built and checked whenever it is used.</summary>
    private const string ChecksumFile = "SHA256SUMS";

    /// <summary>
    /// Verifies a complete folder, or builds it in a staging folder, verifies that, and renames it into place.
    /// One process at a time builds a folder (a lock file beside it); the others wait and then use its result.
    /// </summary>
    public string Ensure(string folderName, IReadOnlyList<ProvisionedFile> files, bool force, string origin, Action<string> build)
    {
        string folder = Path.Combine(Root, folderName);
        if (!force && IsComplete(folderName, files))
        {
            Verify(folder, files);
            return folder;
        }
        Directory.CreateDirectory(Root);
        using var _ = Persistence.FolderLock.Acquire(Path.Combine(Root, $".{folderName}.lock"), $"provisioning {folderName}");
        // Another process may have built it while this one waited.
        if (!force && IsComplete(folderName, files))
        {
            Verify(folder, files);
            return folder;
        }
        string staging = Path.Combine(Root, $".{folderName}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Provisioning {folderName} into {folder} from {origin}.");
            build(staging);
            File.WriteAllText(Path.Combine(staging, "SOURCE.txt"), origin + Environment.NewLine);
            // Pinned files must have their pinned hash; the others (rendered here) are recorded as they came out.
            foreach (var file in files.Where(f => f.Sha256 is not null)) CheckHash(Path.Combine(staging, file.FileName), file.Sha256!);
            File.WriteAllLines(Path.Combine(staging, ChecksumFile), files.Select(f => $"{Sha256(Path.Combine(staging, f.FileName))}  {f.FileName}"));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(staging, folder);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        return folder;
    }

    /// <summary>Files verified in this process, by path, length and time written: a second use in the session does not hash again.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, DateTime Written), string> Verified = new();

    /// <summary>Every file against its pinned hash, or (when it has none) against the hash recorded when the folder was built.</summary>
    private static void Verify(string folder, IReadOnlyList<ProvisionedFile> files)
    {
        var recorded = File.ReadAllLines(Path.Combine(folder, ChecksumFile))
            .Select(l => l.Split("  ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[1].Trim(), p => p[0].Trim(), StringComparer.Ordinal);
        foreach (var file in files)
        {
            string path = Path.Combine(folder, file.FileName);
            string? expected = file.Sha256 ?? (recorded.TryGetValue(file.FileName, out var r) ? r : null);
            if (expected is null)
                throw new FssdProvisioningException($"'{folder}' records no hash for {file.FileName}; provision it again with -Force.");
            CheckHash(path, expected);
        }
    }

    private static void CheckHash(string path, string expected)
    {
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        if (Verified.TryGetValue(key, out var known) && known.Equals(expected, StringComparison.OrdinalIgnoreCase)) return;
        string actual = Sha256(path);
        if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase))
            throw new FssdProvisioningException(
                $"'{path}' does not have the expected content (SHA-256 {actual}, expected {expected}): it was changed or damaged after it was provisioned. Provision it again with -Force.");
        Verified[key] = actual;
    }

    internal static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
