using System;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Import-FssdModel: load a trained classifier from a manifest, weights or TorchScript file.</summary>
[Cmdlet(VerbsData.Import, "FssdModel", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(FssdModel))]
public sealed class ImportFssdModelCommand : FssdCmdlet
{
    private const string ManifestSet = "Manifest";
    private const string WeightsSet = "Weights";
    private const string DefaultSet = "Default";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ManifestSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = WeightsSet)]
    [Alias("FullName", "PSPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = WeightsSet)]
    [ValidateSet("LeNet", "ResNet18", "ResNet34", "TorchScript", IgnoreCase = true)]
    public string Architecture { get; set; } = "";

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateCount(2, 2)]
    [ValidateRange(1, 16384)]
    public int[]? InputSize { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    public ColorMode ColorMode { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateNotNullOrEmpty]
    public double[]? Mean { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateNotNullOrEmpty]
    public double[]? Std { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateSet("Cifar", "ImageNet", IgnoreCase = true)]
    public string? Stem { get; set; }

    [Parameter(ParameterSetName = WeightsSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Layer { get; set; }

    /// <summary>Accept a manifest changed since the module wrote it, with a warning.</summary>
    [Parameter(ParameterSetName = ManifestSet)]
    public SwitchParameter SkipIntegrityCheck { get; set; }

    protected override void ProcessRecord()
    {
        // Without a path: the module's own model, LeNet trained on FashionMNIST.
        string path = ParameterSetName == DefaultSet
            ? DefaultModel.ManifestPath
            : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        var request = new ModelLoadRequest
        {
            Path = path,
            Architecture = ParameterSetName == WeightsSet ? Architecture : null,
            Name = Name,
            ClassNames = ClassNames,
            InputSize = InputSize,
            ColorMode = MyInvocation.BoundParameters.ContainsKey(nameof(ColorMode)) ? ColorMode : null,
            Mean = Mean,
            Std = Std,
            Stem = Stem,
            Layers = Layer,
            ReadOptions = new Fssd.Engine.Persistence.ReadOptions(SkipIntegrityCheck, WriteWarning),
        };
        try
        {
            var session = FssdSession.Current;
            var model = session.Models.GetOrLoad(request, session.Device, out bool cached);
            WriteVerbose(cached
                ? $"'{path}' was already loaded in this session (model {model.Info.Id})."
                : $"Loaded '{path}' as {model.Info.Architecture} in {model.Info.LoadMilliseconds:F0} ms.");
            WriteObject(model.Info);
        }
        catch (FssdModelException e)
        {
            ThrowFssdError(e, "FssdModelInvalid", ErrorCategory.InvalidData, path);
        }
        catch (FssdRuntimeException e)
        {
            ThrowFssdError(e, "FssdRuntimeUnavailable", ErrorCategory.ResourceUnavailable, path);
        }
    }
}
