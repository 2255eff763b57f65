using System;
using System.IO;
using System.Runtime.CompilerServices;
using Fssd.Engine.Runtime;

namespace Fssd.Engine.Tests;

/// <summary>Points the engine at the natives of the built module before any test runs.</summary>
internal static class NativeSetup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NativeRuntime.DirectoryVariable))) return;
        Environment.SetEnvironmentVariable(NativeRuntime.DirectoryVariable, Path.Combine(
            RepositoryRoot(), "out", "Fssd", "runtimes", NativePlatform.CurrentRid(), "native"));
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FssdPowerShell.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException(
            "The tests must run inside the repository (FssdPowerShell.sln not found above " + AppContext.BaseDirectory + ").");
    }
}
