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
[OutputType(typeof(FssdBaseline))]
public sealed class NewFssdBaselineCommand : FssdCmdlet
{
    private readonly List<object> _inputs = new();

    [Parameter(Mandatory = true, Position = 0)]
    public BaselineMethod Method { get; set; }

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
    [ValidateNotNull]
    public FssdDataset? TrainingSet { get; set; }

    [Parameter]
    [ValidateRange(10, int.MaxValue)]
    public int TrainingCount { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
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
            var session = Fssd.Engine.Runtime.FssdSession.Current;
            var models = Model is null ? new List<Fssd.Engine.Models.LoadedModel> { ResolveModel(null) } : Model.Select(m => ResolveModel(m)).ToList();
            if (Method == BaselineMethod.DeepEnsemble ? models.Count < 2 : models.Count != 1)
                throw new ArgumentException(Method == BaselineMethod.DeepEnsemble
                    ? $"DeepEnsemble averages several independently trained classifiers; give them with -Model (got {models.Count})."
                    : $"{Method} scores with one model; give one with -Model (got {models.Count}).");
            var model = models[0];
            static bool SameInput(FssdInputSpec a, FssdInputSpec b) => a.Channels == b.Channels && a.Height == b.Height && a.Width == b.Width
                && a.Mean.SequenceEqual(b.Mean) && a.Std.SequenceEqual(b.Std) && a.ValueRange.SequenceEqual(b.ValueRange);
            if (models.Any(m => !SameInput(m.Info.InputSpec, model.Info.InputSpec)))
                throw new ArgumentException("The ensemble's models must read the same input: size, channels, value range, mean and std.");
            if (Method == BaselineMethod.Mahalanobis && TrainingSet is null)
                throw new ArgumentException("Mahalanobis fits class Gaussians on labelled training data: give -TrainingSet (e.g. FashionMNIST/train).");
            var decodedIn = InputResolver.Decode(this, _inputs, model.Info.InputSpec, WriteError, WriteWarning, CancellationToken);
            var decodedOut = InputResolver.Decode(this, OutOfDistribution, model.Info.InputSpec, WriteError, WriteWarning, CancellationToken);

            var activity = $"Calibrating {Method} on {decodedIn.Count} in-distribution and {decodedOut.Count} OoD validation inputs";
            void Report(string message)
            {
                WriteProgress(new ProgressRecord(3, activity, message));
                WriteVerbose(message);
            }
            List<(int Tap, ClassGaussians Gaussians)>? gaussians = null;
            string trainingSource = "";
            if (Method == BaselineMethod.Mahalanobis)
            {
                var spec = model.Info.InputSpec;
                var training = DatasetReader.Load(TrainingSet!, spec.Channels, spec.Height, spec.Width, WriteWarning, CancellationToken);
                if (TrainingCount > 0 && TrainingCount < training.Count)
                    training = training.Subset(Enumerable.Range(0, TrainingCount).ToList(), training.Name);
                int[] taps = Layer is null ? Enumerable.Range(0, model.Taps.Count).ToArray() : FssdScorer.TapIndices(model, Layer);
                gaussians = BaselineCalibrator.FitGaussians(model, taps, training, Report, CancellationToken);
                trainingSource = $"{training.Count} images of {TrainingSet}";
            }
            string source = ValidationSource ?? $"{decodedIn.Count} in-distribution and {decodedOut.Count} OoD input(s) given to New-FssdBaseline";
            var baseline = BaselineCalibrator.Calibrate(Method, models, decodedIn.Select(d => d.Pixels).ToList(), decodedOut.Select(d => d.Pixels).ToList(),
                TargetTpr, Seed, Report, CancellationToken, gaussians, Passes, trainingSource, source);
            WriteProgress(new ProgressRecord(3, activity, "Done") { RecordType = ProgressRecordType.Completed });
            WriteObject(baseline);
        }
        catch (OperationCanceledException)
        {
        }
        catch (FssdModelException e)
        {
            ThrowFssdError(e, "FssdModelUnavailable", ErrorCategory.ObjectNotFound, Model);
        }
        catch (FssdDataException e)
        {
            ThrowFssdError(e, "FssdBaselineInputsInvalid", ErrorCategory.InvalidData, null);
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdBaselineArgumentInvalid", ErrorCategory.InvalidArgument, Method);
        }
    }
}
