using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.Baselines;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// New-FssdBaseline: one of the detectors the paper compares FSSD with, calibrated on the same kind of
/// validation data as New-FssdDetector -OutOfDistribution. Measure-Fssd -Baseline scores with it.
/// </summary>
[Cmdlet(VerbsCommon.New, "FssdBaseline")]
[OutputType(typeof(FssdDetector))]
public sealed class NewFssdBaselineCommand : FssdCmdlet
{
    private readonly List<object> _inputs = new();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet("Base", "ODIN", "Mahalanobis", "Energy", "MCDropout", "DeepEnsemble", "OutlierExposure", IgnoreCase = true)]
    public DetectorMethod Method { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public FssdModel[]? Model { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[] InDistribution { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true)]
    [ValidateNotNull]
    public object[] OutOfDistribution { get; set; } = Array.Empty<object>();

    [Parameter]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset? TrainingSet { get; set; }

    [Parameter]
    [ValidateRange(10, int.MaxValue)]
    public int TrainingCount { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TapCompleter))]
    public string[]? Layer { get; set; }

    [Parameter]
    [ValidateRange(2, 1000)]
    public int Passes { get; set; } = BaselineCalibrator.DefaultPasses;

    [Parameter]
    [ValidateRange(0.5, 1.0)]
    public double TargetTpr { get; set; } = DetectorMath.DefaultTargetTpr;

    [Parameter]
    public long Seed { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ValidationSource { get; set; }

    protected override void ProcessRecord() => _inputs.AddRange(InDistribution);

    protected override void EndProcessing()
    {
        try
        {
            var models = ResolveModels(Model);
            var spec = models[0].Info.InputSpec;
            var decodedIn = DecodeInputs(_inputs, spec);
            var decodedOut = DecodeInputs(OutOfDistribution, spec);
            ImageSet? training = null;
            if (TrainingSet is not null)
            {
                training = DatasetReader.Load(TrainingSet, spec.Channels, spec.Height, spec.Width, WriteWarning, CancellationToken);
                if (TrainingCount > 0 && TrainingCount < training.Count) training = training.Subset(Enumerable.Range(0, TrainingCount).ToList(), training.Name);
            }
            string activity = $"Calibrating {Method} on {decodedIn.Count} in-distribution and {decodedOut.Count} OoD validation inputs";
            string source = ValidationSource ?? $"{decodedIn.Count} in-distribution and {decodedOut.Count} OoD input(s)";
            var detector = BaselineCalibrator.Create(Method, models, decodedIn.Select(d => d.Pixels).ToList(), decodedOut.Select(d => d.Pixels).ToList(),
                training, Layer, TargetTpr, Seed, Passes, source, Reporter(3, activity), CancellationToken);
            WriteProgress(new ProgressRecord(3, activity, "Done") { RecordType = ProgressRecordType.Completed });
            WriteObject(detector);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Model);
        }
    }
}
