using System;

namespace Fssd.Engine;

/// <summary>The engine could not do what was asked because of its environment (natives, device).</summary>
public class FssdRuntimeException : Exception
{
    public FssdRuntimeException(string message) : base(message) { }
    public FssdRuntimeException(string message, Exception inner) : base(message, inner) { }
}
