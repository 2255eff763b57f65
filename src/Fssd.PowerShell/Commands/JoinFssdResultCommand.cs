using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Persistence;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// Join-FssdResult: many results files (Measure-Fssd -ResultPath, one per worker) as one table, with the
/// files an expected listing has and no row does, and every duplicate row.
/// </summary>
[Cmdlet(VerbsCommon.Join, "FssdResult", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(FssdResultMerge))]
public sealed class JoinFssdResultCommand : FssdCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private readonly List<string> _files = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Expected { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }

    [Parameter]
    [Alias("ShardRoot")]
    [ValidateNotNullOrEmpty]
    public string? Root { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralSet;
        foreach (var file in InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError))
        {
            if (Directory.Exists(file))
                WriteFssdError(new FssdDataException($"'{file}' is a folder; give results files (e.g. {System.IO.Path.Combine(file, "*.csv")})."),
                    "FssdResultsNotFile", ErrorCategory.InvalidArgument, file);
            else _files.Add(file);
        }
    }

    protected override void EndProcessing()
    {
        string root = Root is null ? SessionState.Path.CurrentFileSystemLocation.ProviderPath : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Root);
        string? destination = Destination is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination);
        if (destination is not null)
        {
            if (File.Exists(destination) && !Force)
                ThrowFssdError(new IOException($"'{destination}' already exists; use -Force to overwrite."), "FssdMergeExists", ErrorCategory.ResourceExists, destination);
            if (_files.Any(f => string.Equals(System.IO.Path.GetFullPath(f), destination, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal)))
                ThrowFssdError(new ArgumentException($"-Destination '{destination}' is one of the results files being merged."), "FssdMergeIntoSource", ErrorCategory.InvalidArgument, destination);
            if (!ShouldProcess(destination, $"Write the merged results of {_files.Count} file(s)")) destination = null;
        }
        IEnumerable<string>? expected = Expected?.SelectMany(e =>
        {
            string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(e);
            return FileListing.FolderOrListing(path, root, Include);
        }).Select(f => Sharding.Key(f, root, out _));
        try
        {
            var merge = ResultsMerge.Merge(_files, expected, destination,
                (file, e) => WriteFssdError(e, "FssdResultsUnreadable", ErrorCategory.ReadError, file), CancellationToken);
            foreach (var line in merge.Unreadable.Take(10)) WriteWarning(line);
            if (merge.Unreadable.Count > 10) WriteWarning($"... and {merge.Unreadable.Count - 10} more unreadable row(s); see Unreadable.");
            if (merge.Missing.Count > 0)
                WriteWarning($"{merge.Missing.Count} of {merge.ExpectedCount} expected file(s) have no row, e.g. '{merge.Missing[0]}'; see Missing.");
            if (merge.Duplicates.Count > 0)
                WriteWarning($"{merge.Duplicates.Count} row(s) repeat a file already in the table, e.g. '{merge.Duplicates[0].Path}' ({merge.Duplicates[0].Source}:{merge.Duplicates[0].Line}); see Duplicates.");
            if (merge.ExpectedCount > 0 && merge.Rows.Count > 0 && merge.Unexpected.Count == merge.Rows.Count)
                WriteWarning($"No row names a file of the expected listing as keyed under '{root}': give -Root the folder the workers used as -ShardRoot.");
            WriteObject(merge);
        }
        catch (FssdDataException e)
        {
            ThrowFssdError(e, "FssdListingUnreadable", ErrorCategory.ReadError, Expected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowFssdError(e, "FssdMergeFailed", ErrorCategory.WriteError, destination);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
