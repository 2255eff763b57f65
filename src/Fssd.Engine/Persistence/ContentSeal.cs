using System;
using System.Security.Cryptography;
using System.Text;

namespace Fssd.Engine.Persistence;

/// <summary>Whether a file's own content hash matched.</summary>
public enum SealState
{
    /// <summary>The file carries no content hash (written by hand, or by an earlier version).</summary>
    Absent,

    /// <summary>The content is what was written.</summary>
    Intact,

    /// <summary>The content changed after it was written.</summary>
    Modified,
}

/// <summary>
/// A YAML file's SHA-256 of its own content, so that an edit — a threshold changed by hand, a class list
/// reordered, a corrupted copy — is noticed on load. The file is the header comments, then the line
/// <c>contentSha256: &lt;hex&gt;</c>, then the document; the hash covers the document (line endings
/// normalised to LF, so a checkout that converts them does not count as an edit). It is a check against
/// accidents and unnoticed edits, not a signature: whoever can write the file can write a new hash.
/// </summary>
public static class ContentSeal
{
    public const string Key = "contentSha256";

    /// <summary>The sealed file: <paramref name="header"/> (comment lines), the hash line, the document.</summary>
    public static string Seal(string header, string document)
    {
        document = Normalize(document);
        return Normalize(header) + $"{Key}: {Hash(document)}\n" + document;
    }

    /// <summary>
    /// Splits a file into its document (what follows the hash line, or the whole text when there is none)
    /// and says whether the hash matched. Only comment and blank lines may come before the hash line.
    /// </summary>
    public static (string Document, SealState State, string? Expected, string? Actual) Open(string text)
    {
        text = Normalize(text);
        int start = 0;
        while (start < text.Length)
        {
            int end = text.IndexOf('\n', start);
            string line = end < 0 ? text[start..] : text[start..end];
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                if (end < 0) break;
                start = end + 1;
                continue;
            }
            if (!line.StartsWith(Key + ":", StringComparison.Ordinal)) break;
            string expected = line[(Key.Length + 1)..].Trim().ToLowerInvariant();
            string document = end < 0 ? "" : text[(end + 1)..];
            string actual = Hash(document);
            return (document, expected == actual ? SealState.Intact : SealState.Modified, expected, actual);
        }
        return (text, SealState.Absent, null, null);
    }

    private static string Hash(string document) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(document))).ToLowerInvariant();

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
