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
            var scoresIn = Values(InDistribution, nameof(InDistribution));
            var scoresOut = Values(OutOfDistribution, nameof(OutOfDistribution));
            WriteObject(OodMetrics.Compute(scoresIn, scoresOut, Layer ?? Method));
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdMetricsInputInvalid", ErrorCategory.InvalidArgument, null);
        }
    }

    /// <summary>Scores from FssdScore objects (Score, or LayerScores[Layer]), objects with a Score property, or numbers.</summary>
    private List<double> Values(object[] inputs, string parameter)
    {
        var values = new List<double>(inputs.Length);
        foreach (var raw in inputs)
        {
            object? item = raw is PSObject ps ? ps.BaseObject : raw;
            switch (item)
            {
                case FssdScore score when Layer is not null:
                    if (!score.LayerScores.Contains(Layer))
                        throw new ArgumentException($"A score of '{score.Path}' has no layer '{Layer}'; it has {string.Join(", ", System.Linq.Enumerable.Cast<string>(score.LayerScores.Keys))}.");
                    values.Add(Convert.ToDouble(score.LayerScores[Layer], System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case FssdScore score:
                    values.Add(score.Score);
                    break;
                case double or float or int or long or decimal or short or byte:
                    values.Add(Convert.ToDouble(item, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    var property = raw is PSObject wrapped ? wrapped.Properties["Score"] : PSObject.AsPSObject(item!).Properties["Score"];
                    if (property?.Value is null || !LanguagePrimitives.TryConvertTo(property.Value, out double parsed))
                        throw new ArgumentException($"-{parameter} holds '{item}', which is neither a number nor an object with a numeric Score.");
                    values.Add(parsed);
                    break;
            }
        }
        return values;
    }
}
