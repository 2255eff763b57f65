using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Calibration;
using Fssd.Engine.Scoring;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// New-FssdDetector: with in-distribution validation inputs alone, one tap and a threshold that keeps
/// -TargetTpr of them; with OoD validation inputs too, FSSD-Ensem — the taps weighted by logistic
/// regression, ε chosen from a grid, the threshold set on data the regression did not see.
/// </summary>
[Cmdlet(VerbsCommon.New, "FssdDetector")]
[OutputType(typeof(FssdDetector))]
public sealed class NewFssdDetectorCommand : FssdCmdlet
{
    private readonly List<object> _inputs = new();

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public FssdModel[]? Model { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public FssCenter[]? Center { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[] InDistribution { get; set; } = Array.Empty<object>();

    [Parameter]
    [ValidateNotNull]
    public object[]? OutOfDistribution { get; set; }

    [Parameter]
    public SwitchParameter OutlierFree { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public PseudoOutlierKind[]? PseudoOutlier { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Layer { get; set; }

    [Parameter]
    [ValidateRange(-10.0, 10.0)]
    public double Epsilon { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public double[]? EpsilonGrid { get; set; }

    [Parameter]
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    [Parameter]
    public PerturbationScope PerturbationScope { get; set; } = PerturbationScope.PerTap;

    [Parameter]
    [ValidateRange(0.5, 1.0)]
    public double TargetTpr { get; set; } = DetectorMath.DefaultTargetTpr;

    [Parameter]
    public long Seed { get; set; }

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
            var session = Fssd.Engine.Runtime.FssdSession.Current;
            var models = Model is null ? new List<Fssd.Engine.Models.LoadedModel> { ResolveModel(null) } : Model.Select(m => ResolveModel(m)).ToList();
            // Each model's center: the one given for its weights, else 100 uniform-noise images (seed 0).
            var centers = models.Select(m => Center?.FirstOrDefault(c => c.ModelSha256 == m.Info.Sha256)
                ?? (Center is { Length: 1 } && models.Count == 1 ? Center[0] : null)
                ?? CenterEstimator.FromNoise(m, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise)).ToList();
            var model = models[0];
            var center = centers[0];
            var decodedIn = InputResolver.Decode(this, _inputs, model.Info.InputSpec, WriteError, WriteWarning, CancellationToken);
            if (decodedIn.Count == 0)
            {
                ThrowFssdError(new FssdDataException("None of the in-distribution inputs could be read."), "FssdDetectorNoInputs", ErrorCategory.InvalidData, null);
                return;
            }
            if (OutlierFree && OutOfDistribution is not null)
                throw new ArgumentException("-OutlierFree calibrates without OoD data; leave out -OutOfDistribution, or -OutlierFree.");
            if (models.Count > 1 && OutOfDistribution is null && !OutlierFree)
                throw new ArgumentException("Several models need weights: give -OutOfDistribution, or -OutlierFree.");
            bool ensemble = OutOfDistribution is not null || OutlierFree;
            if (!ensemble && PerturbationScope == PerturbationScope.Shared)
                WriteWarning("-PerturbationScope Shared has no effect on a threshold-only detector: it scores one tap, whose step is its own. " +
                    "Give -OutOfDistribution or -OutlierFree for an ensemble that shares one step among its taps.");
            var detector = ensemble ? Ensemble(models, centers, decodedIn) : ThresholdOnly(model, center, decodedIn);
            if (detector is not null) WriteObject(detector);
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
            ThrowFssdError(e, "FssdDetectorInputsInvalid", ErrorCategory.InvalidData, null);
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdLayerUnknown", ErrorCategory.InvalidArgument, Layer);
        }
    }

    private FssdDetector ThresholdOnly(Fssd.Engine.Models.LoadedModel model, FssCenter center, List<(string Source, byte[] Pixels)> decoded)
    {
        if (Layer is { Length: > 1 })
            throw new ArgumentException("Several layers need weights, and weights need OoD validation inputs (-OutOfDistribution).");
        int tap = Layer is null ? FssdScorer.DefaultTap(model) : model.TapIndex(Layer[0]);
        using var scorer = new FssdScorer(model, center, new[] { tap });
        var scores = scorer.ScoreFirstTap(decoded.Select(d => d.Pixels).ToList(), Epsilon, Perturbation, 128, CancellationToken);
        var (threshold, achieved) = DetectorMath.ThresholdAt(scores, TargetTpr);
        return new FssdDetector
        {
            Name = Name ?? $"{model.Info.Name}-{model.Taps[tap].Name}",
            Models = new[] { model.Info },
            Centers = new[] { center },
            Layers = new[] { new FssdDetectorLayer { Name = model.Taps[tap].Name, Key = model.Taps[tap].Name, Weight = 1, Mean = 0, Std = 1 } },
            Epsilon = Epsilon,
            Perturbation = Perturbation,
            Threshold = threshold,
            TargetTpr = TargetTpr,
            Calibration = "ThresholdOnly",
            ValidationSource = ValidationSource ?? $"{decoded.Count} in-distribution input(s) given to New-FssdDetector",
            ValidationCount = decoded.Count,
            ValidationTpr = achieved,
            CreatedUtc = DateTime.UtcNow,
        };
    }

    private FssdDetector Ensemble(List<Fssd.Engine.Models.LoadedModel> models, List<FssCenter> centers, List<(string Source, byte[] Pixels)> decodedIn)
    {
        var model = models[0];
        // -Layer names taps of every model; without it, every tap of every model.
        var parts = models.Select((m, i) => (m, centers[i], Layer is null ? Enumerable.Range(0, m.Taps.Count).ToArray() : FssdScorer.TapIndices(m, Layer))).ToList();
        var grid = EpsilonGrid ?? (MyInvocation.BoundParameters.ContainsKey(nameof(Epsilon)) ? new[] { Epsilon }
            : (OutlierFree ? OutlierFreeCalibrator.DefaultGrid : DetectorCalibrator.PaperGrid).ToArray());
        using var scorer = new EnsembleScorer(parts);
        var activity = OutlierFree ? $"Calibrating FSSD-Ensem on {decodedIn.Count} in-distribution inputs and pseudo-outliers made from them"
            : $"Calibrating FSSD-Ensem on {decodedIn.Count} in-distribution and OoD validation inputs";
        void Report(string message)
        {
            WriteProgress(new ProgressRecord(2, activity, message));
            WriteVerbose(message);
        }
        CalibrationResult result;
        IReadOnlyList<FssdPseudoOutlierTrial> evidence = Array.Empty<FssdPseudoOutlierTrial>();
        string calibration, source;
        int outCount;
        if (OutlierFree)
        {
            (result, evidence) = OutlierFreeCalibrator.Calibrate(scorer, model.Info.InputSpec, decodedIn.Select(d => d.Pixels).ToList(),
                grid, Perturbation, TargetTpr, Seed, Report, CancellationToken, PseudoOutlier, PerturbationScope);
            calibration = OutlierFreeCalibrator.Describe(PseudoOutlier);
            source = ValidationSource ?? $"{decodedIn.Count} in-distribution input(s) given to New-FssdDetector; no OoD data";
            outCount = 0;
        }
        else
        {
            var decodedOut = InputResolver.Decode(this, OutOfDistribution!, model.Info.InputSpec, WriteError, WriteWarning, CancellationToken);
            result = DetectorCalibrator.Calibrate(scorer, decodedIn.Select(d => d.Pixels).ToList(), decodedOut.Select(d => d.Pixels).ToList(),
                grid, Perturbation, TargetTpr, Seed, Report, CancellationToken, scope: PerturbationScope);
            calibration = "OodValidation";
            source = ValidationSource ?? $"{decodedIn.Count} in-distribution and {decodedOut.Count} OoD input(s) given to New-FssdDetector";
            outCount = decodedOut.Count;
        }
        WriteProgress(new ProgressRecord(2, activity, "Done") { RecordType = ProgressRecordType.Completed });
        return new FssdDetector
        {
            Name = Name ?? $"{model.Info.Name}-ensemble",
            Models = models.Select(m => m.Info).ToList(),
            Centers = centers,
            Layers = parts.SelectMany((p, i) => p.Item3.Select(t => (Model: i, Tap: p.m.Taps[t].Name))).Select((l, j) => new FssdDetectorLayer
            {
                ModelIndex = l.Model, Name = l.Tap, Key = scorer.Keys[j],
                Weight = result.Regression.Weights[j], Mean = result.Scaling.Mean[j], Std = result.Scaling.Std[j],
            }).ToList(),
            Intercept = result.Regression.Intercept,
            Epsilon = result.Epsilon,
            Perturbation = result.Perturbation,
            PerturbationScope = result.Scope,
            StepWeights = result.StepWeights,
            Threshold = result.Threshold,
            TargetTpr = TargetTpr,
            Calibration = calibration,
            ValidationSource = source,
            ValidationCount = decodedIn.Count + outCount,
            PseudoOutliers = evidence,
            ValidationTpr = result.AchievedTpr,
            EpsilonCurve = result.Curve,
            RegularizationC = result.Regression.C,
            ValidationMetrics = result.Validation,
            CreatedUtc = DateTime.UtcNow,
        };
    }
}
