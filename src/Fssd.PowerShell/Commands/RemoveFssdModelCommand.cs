using System.Management.Automation;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Remove-FssdModel: free one model, or all, from the session's cache.</summary>
[Cmdlet(VerbsCommon.Remove, "FssdModel", SupportsShouldProcess = true, DefaultParameterSetName = OneSet)]
[OutputType(typeof(void))]
public sealed class RemoveFssdModelCommand : FssdCmdlet
{
    private const string OneSet = "Model";
    private const string AllSet = "All";

    [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0, ParameterSetName = OneSet)]
    [ValidateNotNull]
    public FssdModel Model { get; set; } = null!;

    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var cache = FssdSession.Current.Models;
        if (All)
        {
            foreach (var loaded in cache.Loaded)
                if (ShouldProcess(loaded.Info.SourcePath, $"Free model '{loaded.Info.Name}'")) cache.Remove(loaded.Info.Id);
            return;
        }
        if (!ShouldProcess(Model.SourcePath, $"Free model '{Model.Name}'")) return;
        if (!cache.Remove(Model.Id))
            WriteFssdError(new ItemNotFoundException($"The model '{Model.Name}' ({Model.SourcePath}) is not loaded in this session."),
                "FssdModelNotLoaded", ErrorCategory.ObjectNotFound, Model);
    }
}
