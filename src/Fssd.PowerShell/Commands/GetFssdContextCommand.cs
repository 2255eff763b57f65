using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Get-FssdContext: the session's device, libtorch version and threads.</summary>
[Cmdlet(VerbsCommon.Get, "FssdContext")]
[OutputType(typeof(FssdContextInfo))]
public sealed class GetFssdContextCommand : FssdCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            WriteObject(FssdSession.Current.Describe());
        }
        catch (FssdRuntimeException e)
        {
            ThrowFailure(e, null);
        }
    }
}
