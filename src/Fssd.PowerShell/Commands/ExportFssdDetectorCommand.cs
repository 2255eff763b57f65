using System;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Export-FssdDetector: write a detector to a YAML file, atomically; with -EmbedWeights, its model's weights inside.</summary>
[Cmdlet(VerbsData.Export, "FssdDetector", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportFssdDetectorCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public FssdDetector Detector { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter EmbedWeights { get; set; }

    protected override void ProcessRecord()
    {
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            if (File.Exists(path) && !Force)
            {
                WriteFssdError(new IOException($"'{path}' already exists; use -Force to overwrite."), "FssdExportExists", ErrorCategory.ResourceExists, path);
                return;
            }
            if (!ShouldProcess(path, $"Export detector '{Detector.Name}'")) return;
            var models = System.Linq.Enumerable.ToList(System.Linq.Enumerable.Select(Detector.Models, m => ResolveModel(m)));
            DetectorDocument.Save(Detector, models, path, EmbedWeights);
            WriteFileItem(path);
        }
        catch (FssdModelException e)
        {
            WriteFailure(e, Detector);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteFailure(e, path);
        }
    }
}
