using System;

namespace Fssd.Engine;

/// <summary>The engine could not do what was asked because of its environment (natives, device).</summary>
public class FssdRuntimeException : Exception
{
    public FssdRuntimeException(string message) : base(message) { }
    public FssdRuntimeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A device that this build or machine cannot use (CUDA on a CPU build, no GPU, an index out of range).</summary>
public sealed class FssdDeviceUnavailableException : FssdRuntimeException
{
    public FssdDeviceUnavailableException(string message) : base(message) { }
}

/// <summary>A device name that names no device ("gpu", "cuda:-1").</summary>
public sealed class FssdInvalidDeviceException : System.ArgumentException
{
    public FssdInvalidDeviceException(string message, string device) : base(message, "device") => Device = device;

    public string Device { get; }
}
