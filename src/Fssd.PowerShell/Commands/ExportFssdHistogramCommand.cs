using System;
using System.IO;
using System.Management.Automation;
using Fssd.Engine.Reporting;

namespace Fssd.PowerShell.Commands;

/// <summary>Export-FssdHistogram: a PNG of two overlaid score histograms (in-distribution against OoD), AUROC in the title.</summary>
[Cmdlet(VerbsData.Export, "FssdHistogram", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportFssdHistogramCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public object[] InDistribution { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public object[] OutOfDistribution { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Layer { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Title { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string InLabel { get; set; } = "in-distribution";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string OutLabel { get; set; } = "OoD";

    [Parameter]
    [ValidateRange(2, 1000)]
    public int Bins { get; set; } = 50;

    [Parameter]
    [ValidateCount(2, 2)]
    [ValidateRange(100, 8000)]
    public int[] Size { get; set; } = { 800, 500 };

    protected override void EndProcessing()
    {
        string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            var scoresIn = ScoreValues.Read(InDistribution, nameof(InDistribution), Layer);
            var scoresOut = ScoreValues.Read(OutOfDistribution, nameof(OutOfDistribution), Layer);
            if (!ShouldProcess(file, "Write a histogram PNG")) return;
            Charts.Histogram(scoresIn, scoresOut, file, Title ?? (Layer is null ? "Scores" : $"FSSD at {Layer}"), Layer is null ? "score" : $"FSSD at {Layer}",
                InLabel, OutLabel, Bins, Size[0], Size[1]);
            WriteFileItem(file);
        }
        catch (ArgumentException e)
        {
            ThrowFailure(e, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowFailure(e, file);
        }
    }
}
