using System;
using System.Collections.Generic;
using System.Management.Automation;
using Fssd.Engine.Metrics;

namespace Fssd.PowerShell.Commands;

/// <summary>Get-FssdMetrics: AUROC, AUPRC, FPR at 80% and 95% TPR and detection error from scored inputs.</summary>
[Cmdlet(VerbsCommon.Get, "FssdMetrics")]
[OutputType(typeof(FssdMetrics))]
public sealed class GetFssdMetricsCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public object[] InDistribution { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public object[] OutOfDistribution { get; set; } = Array.Empty<object>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Method { get; set; } = "FSSD";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Layer { get; set; }

    protected override void EndProcessing()
    {
        try
        {
            var scoresIn = ScoreValues.Read(InDistribution, nameof(InDistribution), Layer);
            var scoresOut = ScoreValues.Read(OutOfDistribution, nameof(OutOfDistribution), Layer);
            WriteObject(OodMetrics.Compute(scoresIn, scoresOut, Layer ?? Method));
        }
        catch (ArgumentException e)
        {
            ThrowFailure(e, null);
        }
    }
}
