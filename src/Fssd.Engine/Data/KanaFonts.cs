using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>The fonts the Kana set is drawn with, found installed or taken from Debian's packages, each checked by SHA-256.</summary>
public sealed class KanaFonts
{
    private const string DownloadsFolder = "downloads";
    private const string FontsFolder = "fonts";
    private readonly Action<string> _log;

    public KanaFonts(string root, Action<string> log)
    {
        Root = root;
        _log = log;
    }

    public string Root { get; }

    /// <summary>
    /// A font file with the pinned SHA-256: the installed one where it is that one, else one extracted
    /// from the package (fetched with apt-get download into the downloads folder, unpacked with dpkg-deb).
    /// </summary>
    public string Locate(KanaFont font, CancellationToken cancellation)
    {
        string installed = Path.Combine("/", font.RelativePath);
        if (File.Exists(installed) && ProvisionedFolders.Sha256(installed) == font.Sha256) return installed;
        string fonts = Path.Combine(Root, DownloadsFolder, FontsFolder);
        string extracted = Path.Combine(fonts, font.RelativePath);
        if (File.Exists(extracted) && ProvisionedFolders.Sha256(extracted) == font.Sha256) return extracted;
        if (OperatingSystem.IsWindows())
            throw new FssdProvisioningException(
                $"The font {font.FileName} (Debian package {font.Package}) is needed to draw Kana; copy it to '{extracted}' (same SHA-256: {font.Sha256}).");
        Directory.CreateDirectory(fonts);
        string staging = Path.Combine(fonts, $".apt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Fetching the Debian package {font.Package} with apt-get download.");
            ExternalTool.Run("apt-get", new[] { "download", font.Package }, staging, $"the Debian package {font.Package}", cancellation,
                $"Install it (apt-get install {font.Package}) or copy {font.FileName} to '{extracted}'.");
            string deb = Directory.GetFiles(staging, "*.deb").SingleOrDefault()
                ?? throw new FssdProvisioningException($"apt-get download {font.Package} wrote no package.");
            // Unpacked into the staging folder and checked there; only the one font file moves into place.
            string unpacked = Path.Combine(staging, "root");
            ExternalTool.Run("dpkg-deb", new[] { "-x", deb, unpacked }, staging, $"the Debian package {font.Package}", cancellation,
                $"Copy {font.FileName} to '{extracted}'.");
            string candidate = Path.Combine(unpacked, font.RelativePath);
            if (!File.Exists(candidate)) throw new FssdProvisioningException($"The Debian package {font.Package} holds no {font.RelativePath}.");
            string actual = ProvisionedFolders.Sha256(candidate);
            if (actual != font.Sha256)
                throw new FssdProvisioningException($"{font.RelativePath} from {font.Package} has SHA-256 {actual}, not the expected {font.Sha256}; it was not used.");
            Directory.CreateDirectory(Path.GetDirectoryName(extracted)!);
            File.Move(candidate, extracted, overwrite: true);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return extracted;
    }
}
