using System;

namespace Fssd.Engine;

/// <summary>A model, manifest or weights file could not be used; the message names the file and the cause.</summary>
public class FssdModelException : Exception
{
    public FssdModelException(string message) : base(message) { }
    public FssdModelException(string message, Exception inner) : base(message, inner) { }
}
