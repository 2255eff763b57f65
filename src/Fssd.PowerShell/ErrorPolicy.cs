using System;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;

namespace Fssd.PowerShell;

/// <summary>
/// One error policy for every cmdlet: the cause of a failure — its exception type — gives the error id and
/// category, and the target is the input at fault. Cmdlets decide only whether a failure ends the call
/// (the model, detector or an argument is unusable) or is one input's (a file that cannot be decoded).
/// </summary>
public static class ErrorPolicy
{
    public static ErrorRecord Record(Exception exception, object? target)
    {
        var (id, category) = Classify(exception);
        object? at = exception switch
        {
            FssdTapNotFoundException tap => tap.Tap,
            FssdInvalidDeviceException device => device.Device,
            FssdFileNotFoundException file => file.Path,
            FssdResultsFileException results => results.Path,
            _ => target,
        };
        return new ErrorRecord(exception, id, category, at);
    }

    /// <summary>The error id and category of a cause (docs/errors.md lists them).</summary>
    public static (string Id, ErrorCategory Category) Classify(Exception exception) => exception switch
    {
        FssdTapNotFoundException => ("FssdLayerUnknown", ErrorCategory.InvalidArgument),
        FssdInvalidDeviceException => ("FssdInvalidDevice", ErrorCategory.InvalidArgument),
        FssdModelNotLoadedException => ("FssdModelNotLoaded", ErrorCategory.ObjectNotFound),
        FssdFileNotFoundException => ("FssdPathNotFound", ErrorCategory.ObjectNotFound),
        FssdNoClassifierException => ("FssdModelHasNoClassifier", ErrorCategory.InvalidArgument),
        Fssd.Engine.Models.Onnx.UnknownOnnxOperatorException => ("FssdOnnxOperatorNotSupported", ErrorCategory.NotImplemented),
        FssdModelException => ("FssdModelInvalid", ErrorCategory.InvalidData),
        FssdResultsFileException => ("FssdResultsUnusable", ErrorCategory.InvalidData),
        FssdProvisioningException => ("FssdDatasetProvisionFailed", ErrorCategory.InvalidData),
        FssdDataException => ("FssdInputInvalid", ErrorCategory.InvalidData),
        FssdDeviceUnavailableException => ("FssdDeviceUnavailable", ErrorCategory.ResourceUnavailable),
        FssdRuntimeException => ("FssdRuntimeUnavailable", ErrorCategory.ResourceUnavailable),
        FileNotFoundException or DirectoryNotFoundException or ItemNotFoundException => ("FssdPathNotFound", ErrorCategory.ObjectNotFound),
        UnauthorizedAccessException => ("FssdAccessDenied", ErrorCategory.PermissionDenied),
        IOException => ("FssdWriteFailed", ErrorCategory.WriteError),
        FssdShardException => ("FssdShardInvalid", ErrorCategory.InvalidArgument),
        ArgumentException => ("FssdArgumentInvalid", ErrorCategory.InvalidArgument),
        OperationCanceledException => ("FssdCancelled", ErrorCategory.OperationStopped),
        _ => ("FssdInternalError", ErrorCategory.NotSpecified),
    };
}
