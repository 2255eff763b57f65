using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace Fssd.Loader;

/// <summary>
/// The module's own assembly load context. It holds the cmdlets, the engine, TorchSharp and every
/// other dependency from the module's lib folder, so a different Google.Protobuf, SkiaSharp or
/// YamlDotNet that another module put into PowerShell's default context never meets ours. The
/// contracts assembly and PowerShell itself are shared with the default context, so that the types
/// users name in scripts are the same types the cmdlets return.
/// </summary>
public sealed class FssdLoadContext : AssemblyLoadContext
{
    private static readonly object Gate = new();
    private static FssdLoadContext? _instance;
    private readonly string _libDirectory;

    /// <summary>Assembly names that always come from the default context.</summary>
    private static readonly string[] Shared =
    {
        "Fssd.Contracts",
        "Fssd.Loader",
        "System.Management.Automation",
    };

    private FssdLoadContext(string libDirectory) : base("Fssd", isCollectible: false)
    {
        _libDirectory = libDirectory;
    }

    /// <summary>The folder this context loads managed assemblies from.</summary>
    public string LibDirectory => _libDirectory;

    /// <summary>
    /// Creates the context on first call (later calls reuse it: an assembly cannot be loaded twice
    /// into one process) and returns the cmdlet assembly loaded in it.
    /// </summary>
    public static Assembly Initialize()
    {
        lock (Gate)
        {
            if (_instance is null)
            {
                string binDirectory = Path.GetDirectoryName(typeof(FssdLoadContext).Assembly.Location)
                    ?? throw new InvalidOperationException("The Fssd loader has no location on disk.");
                string libDirectory = Path.GetFullPath(Path.Combine(binDirectory, "..", "lib"));
                if (!Directory.Exists(libDirectory))
                    throw new DirectoryNotFoundException(
                        $"The Fssd module is incomplete: its lib folder '{libDirectory}' does not exist.");
                _instance = new FssdLoadContext(libDirectory);
            }
            return _instance.LoadFromAssemblyName(new AssemblyName("Fssd.PowerShell"));
        }
    }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string name = assemblyName.Name ?? "";
        if (Array.IndexOf(Shared, name) >= 0) return null;
        string path = Path.Combine(_libDirectory, name + ".dll");
        // Anything not shipped in lib (the framework) falls through to the default context.
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
