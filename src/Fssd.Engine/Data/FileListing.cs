using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Enumeration;
using System.Linq;
using System.Text;

namespace Fssd.Engine.Data;

/// <summary>
/// The files of a run, as full paths: every file under a folder (recursively; hidden and system files
/// left out, as Get-ChildItem does), or the lines of a listing file. Streams: a listing of millions of
/// files never sits in memory.
/// </summary>
public static class FileListing
{
    /// <summary>Every file under <paramref name="folder"/> whose name matches one of <paramref name="include"/> (all when none), in the file system's order.</summary>
    public static IEnumerable<string> Folder(string folder, IReadOnlyList<string>? include)
    {
        if (!Directory.Exists(folder)) throw new FssdDataException($"The folder '{folder}' does not exist.");
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchType = MatchType.Simple };
        foreach (var file in Directory.EnumerateFiles(folder, "*", options))
            if (Matches(Path.GetFileName(file), include)) yield return file;
    }

    /// <summary>
    /// The files a listing names, one a line (UTF-8; blank lines skipped, CR LF or LF). A relative line is
    /// relative to <paramref name="root"/>; '\' separates folders as '/' does on every system, so a listing
    /// written on Windows reads the same on Linux.
    /// </summary>
    public static IEnumerable<string> ListingFile(string listing, string root, IReadOnlyList<string>? include)
    {
        if (!File.Exists(listing))
            throw new FssdDataException(Directory.Exists(listing) ? $"'{listing}' is a folder, not a listing file." : $"The listing file '{listing}' does not exist.");
        string fullRoot = Path.GetFullPath(root);
        foreach (var raw in File.ReadLines(listing, Encoding.UTF8))
        {
            string line = raw.Trim('\r', '\uFEFF');
            if (string.IsNullOrWhiteSpace(line)) continue;
            string native = Path.DirectorySeparatorChar == '/' ? line.Replace('\\', '/') : line.Replace('/', '\\');
            string full = Path.IsPathRooted(native) ? Path.GetFullPath(native) : Path.GetFullPath(Path.Combine(fullRoot, native));
            if (Matches(Path.GetFileName(full), include)) yield return full;
        }
    }

    /// <summary>A folder is listed, anything else is read as a listing file.</summary>
    public static IEnumerable<string> FolderOrListing(string path, string root, IReadOnlyList<string>? include) =>
        Directory.Exists(path) ? Folder(path, include) : ListingFile(path, root, include);

    /// <summary>Whether a file name matches one of the patterns (* and ?, case-insensitive); every name does when there are none.</summary>
    public static bool Matches(string name, IReadOnlyList<string>? include) =>
        include is null || include.Count == 0 || include.Any(p => FileSystemName.MatchesSimpleExpression(p, name, ignoreCase: true));
}
