using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Scoring;

namespace Fssd.PowerShell.Commands;

/// <summary>New-FssdCenter (alias New-FssCenter, the name it first had): estimate the Feature Space Singularity F* of a model, per tap.</summary>
[Cmdlet(VerbsCommon.New, "FssdCenter", DefaultParameterSetName = NoiseSet)]
[Alias("New-FssCenter")]
[OutputType(typeof(FssCenter))]
public sealed class NewFssdCenterCommand : FssdCmdlet
{
    private const string NoiseSet = "Noise";
    private const string InputSet = "Input";
    private readonly List<object> _inputs = new();

    [Parameter(Position = 0)]
    public FssdModel? Model { get; set; }

    [Parameter(ParameterSetName = NoiseSet)]
    [ValidateRange(1, 1000000)]
    public int NoiseSamples { get; set; } = CenterEstimator.DefaultNoiseSamples;

    [Parameter(ParameterSetName = NoiseSet)]
    public long Seed { get; set; }

    [Parameter(ParameterSetName = NoiseSet)]
    [ValidateSet("Uniform", "Authors", IgnoreCase = true)]
    public string Noise { get; set; } = "Uniform";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [ValidateNotNull]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputSet) _inputs.AddRange(InputObject);
    }

    protected override void EndProcessing()
    {
        try
        {
            var model = ResolveModel(Model);
            if (ParameterSetName == NoiseSet)
            {
                var source = Noise.Equals("Authors", StringComparison.OrdinalIgnoreCase) ? CenterSource.AuthorsNoise : CenterSource.UniformNoise;
                WriteObject(CenterEstimator.FromNoise(model, NoiseSamples, Seed, source));
                return;
            }
            var spec = model.Info.InputSpec;
            var decoded = InputResolver.Decode(this, _inputs, spec, WriteError, WriteWarning, CancellationToken);
            if (decoded.Count == 0)
            {
                ThrowFssdError(new FssdDataException("None of the inputs could be read; the center needs at least one."), "FssdCenterNoInputs", ErrorCategory.InvalidData, null);
                return;
            }
            WriteObject(CenterEstimator.FromInputs(model, decoded.Select(d => d.Pixels).ToList()));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Model);
        }
    }
}
