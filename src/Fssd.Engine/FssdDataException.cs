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

/// <summary>A results file (-ResultPath, Join-FssdResult) that cannot be used: not a results file, written with other taps, locked, unreadable.</summary>
public sealed class FssdResultsFileException : FssdDataException
{
    public FssdResultsFileException(string path, string message) : base(message) => Path = path;
    public FssdResultsFileException(string path, string message, Exception inner) : base(message, inner) => Path = path;

    /// <summary>The results file at fault.</summary>
    public string Path { get; }
}

/// <summary>A shard that does not exist, or shard options that do not go together.</summary>
public sealed class FssdShardException : ArgumentException
{
    public FssdShardException(string message) : base(message) { }
}
