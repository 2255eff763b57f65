using System;
using System.IO;
using System.Security.Cryptography;

namespace Fssd.Engine.Persistence;

/// <summary>
/// Model weights carried inside a detector file (Export-FssdDetector -EmbedWeights), so that a worker
/// needs the module and one file. The bytes are the weights file's own (safetensors, TorchScript, ...),
/// base64 in the YAML, checked against the SHA-256 the detector records. Loading reads weights from a
/// file, so they are unpacked once per machine into a cache named by that hash, where later imports
/// (and other workers on the machine) find them.
/// </summary>
public static class EmbeddedWeights
{
    /// <summary>The weights file's bytes as base64, after checking they still are the weights the detector was made for.</summary>
    public static string Encode(string weightsPath, string sha256)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(weightsPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdModelException($"The weights '{weightsPath}' cannot be read to embed them: {e.Message}", e);
        }
        string actual = Hash(bytes);
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            throw new FssdModelException($"The weights '{weightsPath}' have changed since the model was loaded (SHA-256 {actual}, loaded {sha256}); import the model again.");
        return Convert.ToBase64String(bytes);
    }

    /// <summary>
    /// The folder holding the embedded weights as <paramref name="fileName"/>: decoded, checked against
    /// <paramref name="sha256"/> and written once (atomically) under the cache; a copy found there is used
    /// when its hash is right.
    /// </summary>
    public static string Unpack(string base64, string sha256, string fileName, string detectorPath)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new FssdModelException($"The detector '{detectorPath}' carries weights that are not valid base64: the file is damaged.", e);
        }
        string actual = Hash(bytes);
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            throw new FssdModelException(
                $"The detector '{detectorPath}' carries weights with SHA-256 {actual}, but records {sha256}: the file is damaged or was edited.");
        string name = FileNames.Safe(Path.GetFileName(fileName), "weights");
        foreach (var root in CacheRoots())
        {
            string folder = Path.Combine(root, sha256.ToLowerInvariant());
            string target = Path.Combine(folder, name);
            try
            {
                if (File.Exists(target) && HashFile(target) == actual) return folder;
                Directory.CreateDirectory(folder);
                string temp = target + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
                File.WriteAllBytes(temp, bytes);
                File.Move(temp, target, overwrite: true);
                return folder;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only or full cache (a locked-down node): try the next place.
            }
        }
        throw new FssdModelException($"The weights the detector '{detectorPath}' carries cannot be unpacked: neither the cache nor the temporary folder can be written.");
    }

    /// <summary>$FSSD_WEIGHTS, else the per-user cache (~/.cache/fssd/weights, %LOCALAPPDATA%\Fssd\weights), then the temporary folder.</summary>
    private static string[] CacheRoots()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("FSSD_WEIGHTS");
        string cache;
        if (OperatingSystem.IsWindows())
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Fssd", "weights");
        }
        else
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string home = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            cache = Path.Combine(home, "fssd", "weights");
        }
        string temp = Path.Combine(Path.GetTempPath(), $"fssd-weights-{Environment.UserName}");
        return string.IsNullOrWhiteSpace(fromEnv) ? new[] { cache, temp } : new[] { fromEnv, cache, temp };
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
