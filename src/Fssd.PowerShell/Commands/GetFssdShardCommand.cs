using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// Get-FssdShard: the files of one shard of a listing (folders, listing files or paths), by the rule
/// every worker computes alone, so that shard k of N is the same set on every machine.
/// </summary>
[Cmdlet(VerbsCommon.Get, "FssdShard", DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class GetFssdShardCommand : FssdCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private const string ListingSet = "ListPath";
    private string _root = "";
    private bool _warnedOutside;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = ListingSet)]
    [ValidateNotNullOrEmpty]
    public string[] ListPath { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Shard { get; set; }

    [Parameter(Mandatory = true)]
    [ValidateRange(1, int.MaxValue)]
    public int ShardCount { get; set; }

    [Parameter]
    [Alias("ShardRoot")]
    [ValidateNotNullOrEmpty]
    public string? Root { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }

    protected override void BeginProcessing()
    {
        _root = Root is null ? SessionState.Path.CurrentFileSystemLocation.ProviderPath : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Root);
        if (Shard is int k && k >= ShardCount)
            ThrowFailure(new FssdShardException($"Shard {k} does not exist: shards of {ShardCount} are numbered 0 to {ShardCount - 1}."), k);
    }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ListingSet)
        {
            foreach (var listing in ListPath)
            {
                string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(listing);
                Write(FileListing.ListingFile(path, _root, Include), path);
            }
            return;
        }
        bool literal = ParameterSetName == LiteralSet;
        foreach (var path in InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError))
        {
            var files = Directory.Exists(path) ? FileListing.Folder(path, Include)
                : FileListing.Matches(System.IO.Path.GetFileName(path), Include) ? new[] { path } : Array.Empty<string>();
            Write(files, path);
        }
    }

    private void Write(IEnumerable<string> files, string source)
    {
        try
        {
            foreach (var file in Sharding.Assign(files, _root, ShardCount, Shard))
            {
                CancellationToken.ThrowIfCancellationRequested();
                if (!file.UnderRoot && !_warnedOutside)
                {
                    _warnedOutside = true;
                    WriteWarning($"'{file.Path}' is not under the shard root '{_root}': it is keyed by its full path, which other machines may write differently. " +
                        "Give -Root the folder every worker sees the files under.");
                }
                var output = PSObject.AsPSObject(new FileInfo(file.Path));
                output.Properties.Add(new PSNoteProperty("Shard", file.Shard));
                output.Properties.Add(new PSNoteProperty("ShardKey", file.Key));
                WriteObject(output);
            }
        }
        catch (FssdDataException e)
        {
            WriteFssdError(e, "FssdListingUnreadable", ErrorCategory.ReadError, source);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteFssdError(new FssdDataException($"'{source}' cannot be listed: {e.Message}", e), "FssdListingUnreadable", ErrorCategory.ReadError, source);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
