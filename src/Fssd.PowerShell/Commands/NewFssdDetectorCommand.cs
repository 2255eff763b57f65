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
    [ArgumentCompleter(typeof(TapCompleter))]
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

    [Parameter]
    [ValidateSet(nameof(DetectorMethod.FSSD), nameof(DetectorMethod.Knn), nameof(DetectorMethod.Gaussian), IgnoreCase = true)]
    public DetectorMethod Method { get; set; }

    [Parameter]
    [ValidateRange(1, 1000)]
    public int Neighbors { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public object[]? Reference { get; set; }

    protected override void ProcessRecord() => _inputs.AddRange(InDistribution);

    protected override void EndProcessing()
    {
        try
        {
            var models = ResolveModels(Model);
            var spec = models[0].Info.InputSpec;
            var decodedIn = DecodeInputs(_inputs, spec);
            if (decodedIn.Count == 0)
            {
                ThrowFssdError(new FssdDataException("None of the in-distribution inputs could be read."), "FssdDetectorNoInputs", ErrorCategory.InvalidData, null);
                return;
            }
            var decodedOut = OutOfDistribution is null ? null : DecodeInputs(OutOfDistribution, spec);
            var request = new FssdDetectorRequest
            {
                Models = models, Centers = Center, Layers = Layer,
                Epsilon = Bound(nameof(Epsilon)) ? Epsilon : null, EpsilonGrid = EpsilonGrid,
                Perturbation = Perturbation, Scope = PerturbationScope, TargetTpr = TargetTpr, Seed = Seed,
                OutlierFree = OutlierFree, PseudoOutliers = PseudoOutlier, Name = Name, ValidationSource = ValidationSource,
                Method = Bound(nameof(Method)) ? Method : null, Neighbors = Bound(nameof(Neighbors)) ? Neighbors : null,
                KnnLayers = Reference is not null,
            };
            var (method, reason) = DetectorChoice.Choose(request, decodedOut is not null);
            string choice = $"New-FssdDetector: {method}, because {reason}.";
            WriteVerbose(choice);
            WriteInformation(new InformationRecord(choice, "New-FssdDetector") { Tags = { "FssdDetectorChoice" } });
            string activity = method is DetectorMethod.Knn or DetectorMethod.Gaussian ? $"Fitting {method} on {decodedIn.Count} in-distribution inputs"
                : OutlierFree ? $"Calibrating FSSD-Ensem on {decodedIn.Count} in-distribution inputs and pseudo-outliers made from them"
                : decodedOut is not null ? $"Calibrating FSSD-Ensem on {decodedIn.Count} in-distribution and {decodedOut.Count} OoD validation inputs"
                : $"Setting a threshold on {decodedIn.Count} in-distribution inputs";
            if (Reference is not null && method != DetectorMethod.FSSD)
                throw new ArgumentException($"-Reference adds Knn layers to an FSSD detector; a {method} detector is fitted on its in-distribution inputs alone.");
            var detector = DetectorFactory.Create(request, decodedIn.Select(d => d.Pixels).ToList(), decodedOut?.Select(d => d.Pixels).ToList(),
                Reporter(2, activity), WriteWarning, CancellationToken);
            WriteProgress(new ProgressRecord(2, activity, "Done") { RecordType = ProgressRecordType.Completed });
            if (Reference is not null)
            {
                var reference = DecodeInputs(Reference, spec);
                if (reference.Count < 2)
                {
                    ThrowFssdError(new FssdDataException($"Knn layers need at least 2 reference inputs that can be read; {reference.Count} could."), "FssdDetectorNoInputs", ErrorCategory.InvalidData, null);
                    return;
                }
                string knnActivity = $"Adding Knn layers fitted on {reference.Count} reference inputs";
                detector = DetectorFactory.WithNeighbors(detector, models[0], reference.Select(d => d.Pixels).ToList(), request.Neighbors ?? Engine.Scoring.FeatureSpace.NeighborBank.DefaultNeighbors,
                    Seed, Reporter(3, knnActivity), CancellationToken);
                WriteProgress(new ProgressRecord(3, knnActivity, "Done") { RecordType = ProgressRecordType.Completed });
            }
            WriteObject(detector);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Model);
        }
    }
}
