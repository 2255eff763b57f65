using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Scoring;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// New-FssdDetector: a detector on one tap whose threshold keeps -TargetTpr of the in-distribution
/// validation inputs — no OoD data needed.
/// </summary>
[Cmdlet(VerbsCommon.New, "FssdDetector")]
[OutputType(typeof(FssdDetector))]
public sealed class NewFssdDetectorCommand : FssdCmdlet
{
    private readonly List<object> _inputs = new();

    [Parameter(Position = 0)]
    public FssdModel? Model { get; set; }

    [Parameter]
    public FssCenter? Center { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[] InDistribution { get; set; } = Array.Empty<object>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Layer { get; set; }

    [Parameter]
    [ValidateRange(-10.0, 10.0)]
    public double Epsilon { get; set; }

    [Parameter]
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    [Parameter]
    [ValidateRange(0.5, 1.0)]
    public double TargetTpr { get; set; } = DetectorMath.DefaultTargetTpr;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ValidationSource { get; set; }

    protected override void ProcessRecord() => _inputs.AddRange(InDistribution);

    protected override void EndProcessing()
    {
        try
        {
            var model = ResolveModel(Model);
            var center = Center ?? CenterEstimator.FromNoise(model, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise);
            int tap = Layer is null ? FssdScorer.DefaultTap(model) : model.TapIndex(Layer);
            using var scorer = new FssdScorer(model, center, new[] { tap });
            var decoded = InputResolver.Decode(this, _inputs, model.Info.InputSpec, WriteError, WriteWarning, CancellationToken);
            if (decoded.Count == 0)
            {
                ThrowFssdError(new FssdDataException("None of the in-distribution inputs could be read."), "FssdDetectorNoInputs", ErrorCategory.InvalidData, null);
                return;
            }
            var scores = new List<double>(decoded.Count);
            for (int start = 0; start < decoded.Count; start += 128)
            {
                CancellationToken.ThrowIfCancellationRequested();
                var batch = decoded.Skip(start).Take(128).Select(d => d.Pixels).ToList();
                var result = scorer.ScoreBytes(batch, Epsilon, Perturbation);
                for (int i = 0; i < batch.Count; i++) scores.Add(result.TapScores[i, 0]);
            }
            var (threshold, achieved) = DetectorMath.ThresholdAt(scores, TargetTpr);
            WriteObject(new FssdDetector
            {
                Name = Name ?? $"{model.Info.Name}-{model.Taps[tap].Name}",
                Model = model.Info,
                Center = center,
                Layers = new[] { new FssdDetectorLayer { Name = model.Taps[tap].Name, Weight = 1, Mean = 0, Std = 1 } },
                Intercept = 0,
                Epsilon = Epsilon,
                Perturbation = Perturbation,
                Threshold = threshold,
                TargetTpr = TargetTpr,
                Calibration = "ThresholdOnly",
                ValidationSource = ValidationSource ?? $"{decoded.Count} in-distribution input(s) given to New-FssdDetector",
                ValidationCount = decoded.Count,
                ValidationTpr = achieved,
                CreatedUtc = DateTime.UtcNow,
            });
        }
        catch (OperationCanceledException)
        {
        }
        catch (FssdModelException e)
        {
            ThrowFssdError(e, "FssdModelUnavailable", ErrorCategory.ObjectNotFound, Model);
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdLayerUnknown", ErrorCategory.InvalidArgument, Layer);
        }
    }
}
