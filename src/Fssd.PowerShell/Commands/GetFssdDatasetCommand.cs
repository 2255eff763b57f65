using System;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell.Commands;

/// <summary>Get-FssdDataset: describe a benchmark dataset, an IDX file, a class folder or a set of image files.</summary>
[Cmdlet(VerbsCommon.Get, "FssdDataset", DefaultParameterSetName = BenchmarkSet)]
[OutputType(typeof(FssdDataset))]
public sealed class GetFssdDatasetCommand : FssdCmdlet
{
    private const string BenchmarkSet = "Benchmark";
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private readonly System.Collections.Generic.List<string> _files = new();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = BenchmarkSet)]
    [ValidateSet("FashionMNIST", "MNIST", "Kana", IgnoreCase = true)]
    public string Name { get; set; } = "";

    [Parameter(Position = 1, ParameterSetName = BenchmarkSet)]
    [ValidateSet("train", "test", IgnoreCase = true)]
    public string Split { get; set; } = "test";

    [Parameter(ParameterSetName = BenchmarkSet)]
    [ValidateNotNullOrEmpty]
    public string? DataPath { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    [ValidateNotNullOrEmpty]
    public string? LabelPath { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    [ValidateNotNullOrEmpty]
    public string? DatasetName { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; }

    private int? FirstOrNull => MyInvocation.BoundParameters.ContainsKey(nameof(First)) ? First : null;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == BenchmarkSet)
        {
            try
            {
                string? root = DataPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(DataPath);
                WriteObject(new DatasetProvisioner(root, WriteVerbose).Open(Name, Split, FirstOrNull, CancellationToken));
            }
            catch (FssdDataException e)
            {
                WriteFailure(e, Name);
            }
            return;
        }
        bool literal = ParameterSetName == LiteralSet;
        _files.AddRange(InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError));
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == BenchmarkSet || _files.Count == 0) return;
        try
        {
            // One folder or IDX file describes itself; several files make one unlabeled listing.
            if (_files.Count == 1 && (System.IO.Directory.Exists(_files[0]) || !DatasetOpener.IsImageFile(_files[0])))
            {
                string? labels = LabelPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(LabelPath);
                WriteObject(DatasetOpener.Open(_files[0], labels, ClassNames, DatasetName, FirstOrNull));
                return;
            }
            var folders = _files.Where(System.IO.Directory.Exists).ToList();
            if (folders.Count > 0)
            {
                WriteFssdError(new FssdDataException($"'{folders[0]}' is a folder; give one folder, or image files only."),
                    "FssdDatasetMixedInput", ErrorCategory.InvalidArgument, folders[0]);
                return;
            }
            WriteObject(DatasetOpener.FromFiles(_files, DatasetName, FirstOrNull));
        }
        catch (FssdDataException e)
        {
            WriteFailure(e, _files[0]);
        }
    }
}
