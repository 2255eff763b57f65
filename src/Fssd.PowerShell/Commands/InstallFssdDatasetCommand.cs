using System;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell.Commands;

/// <summary>Install-FssdDataset: provision a benchmark dataset into the data folder, verified by checksums.</summary>
[Cmdlet(VerbsLifecycle.Install, "FssdDataset", SupportsShouldProcess = true)]
[OutputType(typeof(FssdDataset))]
public sealed class InstallFssdDatasetCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSet("FashionMNIST", "MNIST", "Kana", IgnoreCase = true)]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DataPath { get; set; }

    [Parameter]
    public DataSource Source { get; set; } = DataSource.Auto;

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string? root = DataPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(DataPath);
        var provisioner = new DatasetProvisioner(root, WriteVerbose);
        foreach (var name in Name)
        {
            if (!ShouldProcess(provisioner.Root, $"Provision {name} ({Source})")) continue;
            try
            {
                foreach (var dataset in provisioner.Install(name, Source, Force, CancellationToken)) WriteObject(dataset);
            }
            catch (FssdDataException e)
            {
                WriteFailure(e, name);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                WriteFailure(e, provisioner.Root);
            }
        }
    }
}
