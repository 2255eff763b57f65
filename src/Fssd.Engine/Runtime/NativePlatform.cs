using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace Fssd.Engine.Runtime;

/// <summary>One native library: its file and the names TorchSharp may ask for it by.</summary>
public sealed record NativeLibraryFile(string FileName, string[] Names, bool Optional = false);

/// <summary>The natives a platform needs, in dependency order (each after what it links to).</summary>
public sealed class NativePlatform
{
    public string Rid { get; }
    public IReadOnlyList<NativeLibraryFile> LoadOrder { get; }

    /// <summary>SkiaSharp's native library on this platform.</summary>
    public string ImagingLibrary => Rid.StartsWith("win", StringComparison.Ordinal) ? "libSkiaSharp.dll" : "libSkiaSharp.so";

    /// <summary>HarfBuzz, which the charts' text shaping uses.</summary>
    public string TextLibrary => Rid.StartsWith("win", StringComparison.Ordinal) ? "libHarfBuzzSharp.dll" : "libHarfBuzzSharp.so";

    private NativePlatform(string rid, IReadOnlyList<NativeLibraryFile> loadOrder)
    {
        Rid = rid;
        LoadOrder = loadOrder;
    }

    public static NativePlatform Current { get; } = ForRid(CurrentRid());

    public static string CurrentRid()
    {
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
        if (OperatingSystem.IsWindows()) return "win-" + arch;
        if (OperatingSystem.IsMacOS()) return "osx-" + arch;
        return "linux-" + arch;
    }

    public static NativePlatform ForRid(string rid) => rid switch
    {
        "linux-x64" => new(rid, new NativeLibraryFile[]
        {
            new("libgomp-98b21ff3.so.1", new[] { "gomp" }, Optional: true),
            new("libc10.so", new[] { "c10" }),
            new("libc10_cuda.so", new[] { "c10_cuda" }, Optional: true),
            new("libtorch_cpu.so", new[] { "torch_cpu" }),
            new("libtorch_cuda.so", new[] { "torch_cuda" }, Optional: true),
            new("libtorch.so", new[] { "torch" }),
            new("libLibTorchSharp.so", new[] { "LibTorchSharp" }),
        }),
        "win-x64" => new(rid, new NativeLibraryFile[]
        {
            new("libiomp5md.dll", new[] { "libiomp5md" }, Optional: true),
            new("uv.dll", new[] { "uv" }, Optional: true),
            new("c10.dll", new[] { "c10" }),
            new("c10_cuda.dll", new[] { "c10_cuda" }, Optional: true),
            new("torch_cpu.dll", new[] { "torch_cpu" }),
            new("torch_cuda.dll", new[] { "torch_cuda" }, Optional: true),
            new("torch.dll", new[] { "torch" }),
            new("LibTorchSharp.dll", new[] { "LibTorchSharp" }),
        }),
        _ => throw new FssdRuntimeException(
            $"The platform '{rid}' is not supported by this build of the Fssd module (supported: linux-x64, win-x64)."),
    };

    /// <summary>"libtorch_cpu.so", "torch_cpu.dll" and "torch_cpu" all become "torch_cpu".</summary>
    public static string NormalizeName(string libraryName)
    {
        string name = Path.GetFileName(libraryName);
        int so = name.IndexOf(".so", StringComparison.Ordinal);
        if (so > 0) name = name[..so];
        if (name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".dylib", StringComparison.OrdinalIgnoreCase))
            name = Path.GetFileNameWithoutExtension(name);
        if (name.StartsWith("lib", StringComparison.Ordinal) && !name.Equals("libiomp5md", StringComparison.OrdinalIgnoreCase))
            name = name[3..];
        return name;
    }
}
