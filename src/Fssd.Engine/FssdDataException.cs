using System;

namespace Fssd.Engine;

/// <summary>A data file or folder could not be read; the message names it and the cause.</summary>
public class FssdDataException : Exception
{
    public FssdDataException(string message) : base(message) { }
    public FssdDataException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A benchmark dataset could not be provisioned (fetched, converted, verified) or is damaged on disk.</summary>
public sealed class FssdProvisioningException : FssdDataException
{
    public FssdProvisioningException(string message) : base(message) { }
    public FssdProvisioningException(string message, Exception inner) : base(message, inner) { }
}
