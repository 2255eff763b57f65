using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Fssd.Engine.Runtime;

/// <summary>
/// Loads libtorch and LibTorchSharp by full path from the folder that ships with the engine, and
/// answers TorchSharp's by-name loads with those handles. Two things must never happen: a system
/// libtorch in the library path (Debian's python3-torch installs one) being picked up by a by-name
/// load, and TorchSharp's fallback that copies natives out of the NuGet cache beside itself. Both are
/// avoided because TorchSharp's first load goes through <see cref="Resolve"/> and succeeds.
/// </summary>
public static class NativeRuntime
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, IntPtr> Handles = new(StringComparer.OrdinalIgnoreCase);
    private static string? _directory;

    /// <summary>Environment variable that points at a folder of natives to use instead.</summary>
    public const string DirectoryVariable = "FSSD_NATIVE_PATH";

    /// <summary>The folder the natives were loaded from, once <see cref="EnsureLoaded"/> has run.</summary>
    public static string? Directory => _directory;

    /// <summary>The libraries loaded, by the name TorchSharp asks for, with their full paths.</summary>
    public static IReadOnlyDictionary<string, string> LoadedLibraries { get; private set; } =
        new Dictionary<string, string>();

    /// <summary>Loads the natives once per process; later calls return at once.</summary>
    public static void EnsureLoaded()
    {
        if (_directory is not null) return;
        lock (Gate)
        {
            if (_directory is not null) return;
            var platform = NativePlatform.Current;
            string directory = FindDirectory(platform);
            var loaded = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var library in platform.LoadOrder)
            {
                string path = Path.Combine(directory, library.FileName);
                if (!File.Exists(path))
                {
                    if (library.Optional) continue;
                    throw new FssdRuntimeException(
                        $"The native library '{library.FileName}' is missing from '{directory}'. " +
                        "Rebuild the module (build.ps1 Build) for this platform.");
                }
                IntPtr handle;
                try
                {
                    handle = NativeLibrary.Load(path);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    throw new FssdRuntimeException(
                        $"The native library '{path}' could not be loaded: {e.Message}", e);
                }
                foreach (var name in library.Names) Handles[name] = handle;
                loaded[library.Names[0]] = path;
            }
            NativeLibrary.SetDllImportResolver(typeof(TorchSharp.torch).Assembly, Resolve);
            if (Handles.TryGetValue("torch_cpu", out IntPtr torchCpu)) LibtorchSettings.DisableNnpack(torchCpu);
            // Before the first tensor: from here on libtorch's large buffers are reused, not refaulted.
            BlockCache.Install(directory);
            LoadedLibraries = loaded;
            _directory = directory;
        }
    }

    private static IntPtr _imaging;
    private static IntPtr _text;

    /// <summary>
    /// Loads SkiaSharp's native library (image decoding and PNG writing) by full path from the same
    /// folder, once per process, and answers SkiaSharp's by-name load with it.
    /// </summary>
    public static void EnsureImagingLoaded() =>
        LoadBeside(ref _imaging, NativePlatform.Current.ImagingLibrary, "SkiaSharp", typeof(SkiaSharp.SKBitmap).Assembly, "image");

    /// <summary>
    /// Loads HarfBuzz (text shaping for the charts) by full path from the same folder, once per process,
    /// and answers HarfBuzzSharp's by-name load with it; SkiaSharp first, which it draws with.
    /// </summary>
    public static void EnsureTextLoaded()
    {
        EnsureImagingLoaded();
        LoadBeside(ref _text, NativePlatform.Current.TextLibrary, "HarfBuzzSharp", typeof(HarfBuzzSharp.Blob).Assembly, "text");
    }

    /// <summary>
    /// Loads one native library that a managed wrapper asks for by name (<paramref name="importName"/>)
    /// by full path from the natives' folder, once, and answers the wrapper assembly's loads with it.
    /// </summary>
    private static void LoadBeside(ref IntPtr slot, string fileName, string importName, Assembly wrapper, string purpose)
    {
        if (slot != IntPtr.Zero) return;
        lock (Gate)
        {
            if (slot != IntPtr.Zero) return;
            string path = Path.Combine(FindDirectory(NativePlatform.Current, fileName), fileName);
            IntPtr handle;
            try
            {
                handle = NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new FssdRuntimeException($"The {purpose} library '{path}' could not be loaded: {e.Message}", e);
            }
            NativeLibrary.SetDllImportResolver(wrapper,
                (name, _, _) => NativePlatform.NormalizeName(name) == importName ? handle : IntPtr.Zero);
            slot = handle;
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Names come as TorchSharp writes them: "LibTorchSharp", "torch_cpu", sometimes with prefix/suffix.
        string key = NativePlatform.NormalizeName(libraryName);
        return Handles.TryGetValue(key, out var handle) ? handle : IntPtr.Zero;
    }

    private static string FindDirectory(NativePlatform platform, string? marker = null)
    {
        var candidates = new List<string>();
        string? overridden = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            candidates.Add(Path.GetFullPath(overridden));
        }
        else
        {
            string here = Path.GetDirectoryName(typeof(NativeRuntime).Assembly.Location) ?? AppContext.BaseDirectory;
            candidates.Add(Path.GetFullPath(Path.Combine(here, "..", "runtimes", platform.Rid, "native")));
            candidates.Add(Path.GetFullPath(Path.Combine(here, "runtimes", platform.Rid, "native")));
            candidates.Add(here);
        }
        marker ??= platform.LoadOrder.Last().FileName;
        foreach (var candidate in candidates)
        {
            if (File.Exists(Path.Combine(candidate, marker))) return candidate;
        }
        throw new FssdRuntimeException(
            $"The native library {marker} was not found. Searched: {string.Join(", ", candidates)}.");
    }
}
