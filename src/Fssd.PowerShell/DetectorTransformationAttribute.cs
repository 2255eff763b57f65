using System;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell;

/// <summary>
/// Lets a detector parameter take an <see cref="FssdDetector"/> or the path of a detector file (as
/// Import-FssdDetector reads it, with its integrity check; a warning it gives goes to the host).
/// </summary>
public sealed class DetectorTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is FssdDetector) return value;
        if (value is FileSystemInfo info) value = info.FullName;
        if (value is not string text) return inputData;
        string path = engineIntrinsics.SessionState.Path.GetUnresolvedProviderPathFromPSPath(text);
        try
        {
            var session = FssdSession.Current;
            var options = new ReadOptions(false, message => engineIntrinsics.Host.UI.WriteWarningLine(message));
            return DetectorLoader.Load(path, session.Models, session.Device, options).Detector;
        }
        catch (Exception e) when (e is FssdModelException or FssdRuntimeException)
        {
            throw new ArgumentTransformationMetadataException(e.Message, e);
        }
    }
}
