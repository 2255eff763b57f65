using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace Fssd.Engine.Data;

/// <summary>
/// Deterministic sharding of a file listing, so that every worker of a fleet or an array job finds its
/// own files from (shard k, shard count N) alone. A file's key is its path relative to a root, with '/'
/// between folders and its name in Unicode NFC, case as the file system stores it; its shard is the
/// first 8 bytes of SHA-256(UTF-8 key), read big-endian, modulo N. The rule depends on nothing but the
/// key, so the same file lands in exactly one shard whatever the order of the listing or the machine.
/// In Python: int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) % N.
/// </summary>
public static class Sharding
{
    /// <summary>
    /// The key of <paramref name="path"/> relative to <paramref name="root"/>. A file outside the root
    /// is keyed by its full path (with '/' separators), which agrees between machines only where the
    /// full paths do; <paramref name="underRoot"/> says which.
    /// </summary>
    public static string Key(string path, string root, out bool underRoot)
    {
        string full = Path.GetFullPath(path);
        string relative = Path.GetRelativePath(Path.GetFullPath(root), full);
        underRoot = !Path.IsPathRooted(relative) && relative != ".." &&
            !relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) &&
            !relative.StartsWith(".." + Path.AltDirectorySeparatorChar, StringComparison.Ordinal) && relative != ".";
        return KeyFromRelative(underRoot ? relative : full, Path.DirectorySeparatorChar);
    }

    /// <summary>
    /// A relative path as written by a system whose folder separator is <paramref name="separator"/>, as
    /// a key: '/' between folders, no leading "./", Unicode NFC (macOS writes names decomposed). On Linux
    /// a '\' inside a name is a character, not a separator, and stays.
    /// </summary>
    public static string KeyFromRelative(string relative, char separator)
    {
        string key = separator == '/' ? relative : relative.Replace(separator, '/');
        while (key.StartsWith("./", StringComparison.Ordinal)) key = key[2..];
        return key.IsNormalized(NormalizationForm.FormC) ? key : key.Normalize(NormalizationForm.FormC);
    }

    /// <summary>
    /// The files of a listing with their keys and shards among <paramref name="count"/>; only those of
    /// shard <paramref name="only"/> when it is given. Streams in the listing's order.
    /// </summary>
    public static IEnumerable<ShardedFile> Assign(IEnumerable<string> files, string root, int count, int? only)
    {
        if (only is int k && (k < 0 || k >= count))
            throw new FssdShardException($"Shard {k} does not exist: shards of {count} are numbered 0 to {count - 1}.");
        string fullRoot = Path.GetFullPath(root);
        foreach (var file in files)
        {
            string key = Key(file, fullRoot, out bool underRoot);
            int shard = ShardOf(key, count);
            if (only is null || shard == only) yield return new ShardedFile(Path.GetFullPath(file), key, shard, underRoot);
        }
    }

    /// <summary>The shard of <paramref name="key"/> among <paramref name="count"/>: SHA-256's first 8 bytes, big-endian, modulo the count.</summary>
    public static int ShardOf(string key, int count)
    {
        if (count < 1) throw new FssdShardException("The shard count must be at least 1.");
        int length = Encoding.UTF8.GetByteCount(key);
        Span<byte> bytes = length <= 512 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(key, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % (ulong)count);
    }
}

/// <summary>A file of a listing with its key and shard.</summary>
public readonly record struct ShardedFile(string Path, string Key, int Shard, bool UnderRoot);

/// <summary>One worker's part of a listing: shard <see cref="Index"/> of <see cref="Count"/>, keys relative to <see cref="Root"/>.</summary>
public sealed class ShardSpec
{
    public ShardSpec(int index, int count, string root)
    {
        if (count < 1) throw new FssdShardException("The shard count must be at least 1.");
        if (index < 0 || index >= count)
            throw new FssdShardException($"Shard {index} does not exist: shards of {count} are numbered 0 to {count - 1}.");
        Index = index;
        Count = count;
        Root = Path.GetFullPath(root);
    }

    public int Index { get; }
    public int Count { get; }
    public string Root { get; }

    /// <summary>Whether the file with this key belongs to this shard.</summary>
    public bool Contains(string key) => Sharding.ShardOf(key, Count) == Index;

    public override string ToString() => $"shard {Index} of {Count} under {Root}";
}
