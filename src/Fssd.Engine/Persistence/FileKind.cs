using System;
using System.IO;
using System.Text;
using Fssd.Engine.Data;

namespace Fssd.Engine.Persistence;

/// <summary>
/// What a file is, read off its first bytes, for messages when a file of the wrong kind is given: an image
/// to Import-FssdModel, a manifest to Import-FssdDetector. A description, never a decision to trust it.
/// </summary>
public static class FileKind
{
    /// <summary>"a PNG image", "an Fssd model manifest", "a zip archive", "binary data", …</summary>
    public static string Describe(string path)
    {
        byte[] head;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            head = new byte[Math.Min(4096, stream.Length)];
            head = head[..stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "a file that cannot be read";
        }
        return Describe(head);
    }

    public static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return "an empty file";
        var image = ImageFormatProbe.Container(head);
        if (image != ImageContainer.Unknown) return $"{(image is ImageContainer.Ico ? "an" : "a")} {image.ToString().ToUpperInvariant()} image";
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return "a zip archive";
        if (head.Length >= 9 && head[8] == '{') return "a safetensors file";
        if (!LooksLikeText(head)) return "binary data";
        string text = Encoding.UTF8.GetString(head);
        if (HasKey(text, "models")) return "an Fssd detector file";
        if (HasKey(text, "architecture")) return "an Fssd model manifest";
        if (HasKey(text, "formatVersion") || HasKey(text, ContentSeal.Key)) return "a YAML file";
        return "a text file";
    }

    private static bool HasKey(string text, string key) =>
        text.StartsWith(key + ":", StringComparison.Ordinal) || text.Contains("\n" + key + ":", StringComparison.Ordinal);

    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        int control = 0;
        foreach (byte b in head)
        {
            if (b == 0) return false;
            if (b < 32 && b is not ((byte)'\n' or (byte)'\r' or (byte)'\t')) control++;
        }
        return control <= head.Length / 100;
    }
}
