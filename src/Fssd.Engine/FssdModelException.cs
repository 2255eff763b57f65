using System;

namespace Fssd.Engine;

/// <summary>A model, manifest or weights file could not be used; the message names the file and the cause.</summary>
public class FssdModelException : Exception
{
    public FssdModelException(string message) : base(message) { }
    public FssdModelException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model object refers to a network that is no longer loaded in this session (removed, or from another process).</summary>
public sealed class FssdModelNotLoadedException : FssdModelException
{
    public FssdModelNotLoadedException(string message) : base(message) { }
}

/// <summary>A tap (layer) name a model does not have; the message lists the taps it has.</summary>
public sealed class FssdTapNotFoundException : ArgumentException
{
    public FssdTapNotFoundException(string tap, string message) : base(message, "layer") => Tap = tap;

    /// <summary>The name asked for.</summary>
    public string Tap { get; }
}

/// <summary>A model without a classifier head (a feature extractor) asked for what only class scores give.</summary>
public sealed class FssdNoClassifierException : FssdModelException
{
    public FssdNoClassifierException(string message) : base(message) { }
}

/// <summary>A model, weights or detector file that does not exist.</summary>
public sealed class FssdFileNotFoundException : FssdModelException
{
    public FssdFileNotFoundException(string message, string path) : base(message) => Path = path;

    public string Path { get; }
}
