using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Export-FssdModel: write a model's manifest and weights to a folder.</summary>
[Cmdlet(VerbsData.Export, "FssdModel", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportFssdModelCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public FssdModel Model { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            var model = ResolveModel(Model);
            var (manifest, weights) = ModelExporter.PlannedPaths(model, directory, Name);
            if (!Force && (File.Exists(manifest) || File.Exists(weights)))
            {
                WriteFssdError(new IOException($"'{manifest}' or '{weights}' already exists; use -Force to overwrite."),
                    "FssdExportExists", ErrorCategory.ResourceExists, manifest);
                return;
            }
            if (!ShouldProcess(manifest, $"Export model '{Model.Name}' (manifest and {System.IO.Path.GetFileName(weights)})")) return;
            WriteFileItem(ModelExporter.Export(model, directory, Name));
        }
        catch (FssdModelException e)
        {
            WriteFailure(e, Model);
        }
        catch (System.Exception e) when (e is IOException or System.UnauthorizedAccessException)
        {
            WriteFailure(e, directory);
        }
    }
}
