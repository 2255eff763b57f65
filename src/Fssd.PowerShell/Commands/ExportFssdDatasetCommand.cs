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
/// Export-FssdDataset: write samples as PNG files, one folder per class (unlabeled samples go to the
/// folder itself), so that file-based pipelines can be tried on real data.
/// </summary>
[Cmdlet(VerbsData.Export, "FssdDataset", SupportsShouldProcess = true, DefaultParameterSetName = DatasetSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportFssdDatasetCommand : FssdCmdlet
{
    private const string DatasetSet = "Dataset";
    private const string SampleSet = "Sample";
    private readonly Dictionary<int, int> _perClass = new();
    private string _directory = "";
    private int _written;

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DatasetSet)]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset Dataset { get; set; } = null!;

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public FssdSample InputObject { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; } = int.MaxValue;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int PerClass { get; set; } = int.MaxValue;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing() => _directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == SampleSet)
        {
            Write(InputObject);
            return;
        }
        try
        {
            foreach (var item in DatasetReader.Read(Dataset, 0, CancellationToken))
            {
                if (_written >= First) break;
                if (item.Error is not null)
                {
                    WriteFssdError(item.Error, "FssdImageUnreadable", ErrorCategory.InvalidData, item.Source);
                    continue;
                }
                Write(item.Sample!);
            }
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Dataset.Path);
        }
    }

    private void Write(FssdSample sample)
    {
        if (_written >= First) return;
        int key = sample.Label ?? -1;
        _perClass.TryGetValue(key, out int count);
        if (count >= PerClass) return;
        string folder = sample.ClassName is null ? _directory : System.IO.Path.Combine(_directory, FileNames.Safe(sample.ClassName));
        string file = System.IO.Path.Combine(folder, $"{FileNames.Safe(sample.Dataset)}-{sample.Index:D5}.png");
        if (!ShouldProcess(file, "Write PNG")) return;
        try
        {
            Directory.CreateDirectory(folder);
            PngWriter.Write(file, sample.Pixels, sample.Height, sample.Width, sample.Channels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FssdDataException)
        {
            WriteFailure(e, file);
            return;
        }
        _perClass[key] = count + 1;
        _written++;
        if (PassThru) WriteFileItem(file);
    }
}
