using System.IO;
using System.Linq;

namespace Fssd.Engine.Persistence;

/// <summary>Names made safe to use as one file or folder name on Linux and Windows.</summary>
public static class FileNames
{
    private static readonly char[] Invalid = Path.GetInvalidFileNameChars().Concat(new[] { '/', '\\', ':', '*', '?', '"', '<', '>', '|' }).Distinct().ToArray();

    /// <summary>Characters a file system refuses (the '/' of "T-shirt/top") become '_'; an empty result becomes <paramref name="empty"/>.</summary>
    public static string Safe(string name, string empty = "_")
    {
        string cleaned = new string(name.Select(c => Invalid.Contains(c) ? '_' : c).ToArray()).Trim();
        return cleaned.Length == 0 ? empty : cleaned;
    }
}
