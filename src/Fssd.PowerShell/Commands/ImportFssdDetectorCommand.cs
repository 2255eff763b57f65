using System;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;

namespace Fssd.PowerShell.Commands;

/// <summary>Import-FssdDetector: read a detector file and load its model, checking the weights' hash.</summary>
[Cmdlet(VerbsData.Import, "FssdDetector")]
[OutputType(typeof(FssdDetector))]
public sealed class ImportFssdDetectorCommand : FssdCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath")]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Accept a detector file changed since it was written (or without a content hash), with a warning.</summary>
    [Parameter]
    public SwitchParameter SkipIntegrityCheck { get; set; }

    protected override void ProcessRecord()
    {
        // Without a path: the module's default detector.
        string path = Path is null ? DefaultDetector.Path : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            var session = FssdSession.Current;
            var options = new ReadOptions(SkipIntegrityCheck, WriteWarning);
            WriteObject(DetectorLoader.Load(path, session.Models, session.Device, options).Detector);
        }
        catch (Exception e) when (e is FssdModelException or FssdRuntimeException)
        {
            WriteFailure(e, path);
        }
    }
}
