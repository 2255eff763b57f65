using System;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Onnx;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Import-FssdModel: load a model from a manifest, a weights, TorchScript or ONNX file, or a pretrained backbone.</summary>
[Cmdlet(VerbsData.Import, "FssdModel", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(FssdModel))]
public sealed class ImportFssdModelCommand : FssdCmdlet
{
    private const string PathSet = "Path";
    private const string PretrainedSet = "Pretrained";
    private const string DefaultSet = "Default";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Alias("FullName", "PSPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = PretrainedSet)]
    [ValidateSet("ResNet18", IgnoreCase = true)]
    public string Pretrained { get; set; } = "";

    [Parameter(ParameterSetName = PathSet)]
    [ValidateSet("LeNet", "ResNet18", "ResNet34", "TorchScript", "Onnx", IgnoreCase = true)]
    public string? Architecture { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = PretrainedSet)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [ValidateCount(2, 2)]
    [ValidateRange(1, 16384)]
    public int[]? InputSize { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    public ColorMode ColorMode { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public double[]? Mean { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public double[]? Std { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [ValidateSet("Cifar", "ImageNet", IgnoreCase = true)]
    public string? Stem { get; set; }

    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = PretrainedSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Layer { get; set; }

    /// <summary>Accept a manifest changed since the module wrote it, with a warning.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public SwitchParameter SkipIntegrityCheck { get; set; }

    protected override void ProcessRecord()
    {
        // Without a path: the module's own model, LeNet trained on FashionMNIST.
        string path = ParameterSetName switch
        {
            DefaultSet => DefaultModel.ManifestPath,
            PretrainedSet => PretrainedModels.ManifestPath(Pretrained),
            _ => SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path),
        };
        var request = new ModelLoadRequest
        {
            Path = path,
            Pretrained = ParameterSetName == PretrainedSet ? Pretrained : null,
            Architecture = Architecture,
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
        catch (Exception e) when (e is FssdModelException or FssdRuntimeException)
        {
            ThrowFailure(e, path);
        }
    }
}
