using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell.Commands;

/// <summary>Get-FssdSample: stream a dataset's samples as typed objects, in order.</summary>
[Cmdlet(VerbsCommon.Get, "FssdSample")]
[OutputType(typeof(FssdSample))]
public sealed class GetFssdSampleCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset Dataset { get; set; } = null!;

    [Parameter]
    [ValidateSet("Gray", "Rgb", "AsStored", IgnoreCase = true)]
    public string ColorMode { get; set; } = "AsStored";

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Skip { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; } = int.MaxValue;

    protected override void ProcessRecord()
    {
        int channels = ColorMode.ToLowerInvariant() switch { "gray" => 1, "rgb" => 3, _ => 0 };
        int index = 0, written = 0;
        try
        {
            foreach (var item in DatasetReader.Read(Dataset, channels, CancellationToken))
            {
                if (index++ < Skip) continue;
                if (written >= First) break;
                if (item.Error is not null)
                {
                    WriteFssdError(item.Error, "FssdImageUnreadable", ErrorCategory.InvalidData, item.Source);
                    continue;
                }
                WriteObject(item.Sample);
                written++;
            }
        }
        catch (FssdDataException e)
        {
            WriteFailure(e, Dataset.Path);
        }
    }
}
