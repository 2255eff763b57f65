using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using TorchSharp;

namespace Fssd.Engine.Runtime;

/// <summary>
/// The process's compute context: created on first use and kept, so that a second command in the
/// same session starts at once. Safe to use from several threads (PowerShell runspaces).
/// </summary>
public sealed class FssdSession
{
    private static readonly Lazy<FssdSession> Instance = new(() => new FssdSession(), isThreadSafe: true);
    private readonly object _gate = new();
    private torch.Device _device;

    /// <summary>The one context of this process; the first access loads libtorch.</summary>
    public static FssdSession Current => Instance.Value;

    /// <summary>The backend this engine was built against ("cpu" or "cuda").</summary>
    public static string Backend { get; } =
        typeof(FssdSession).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "FssdBackend")?.Value ?? "cpu";

    private FssdSession()
    {
        NativeRuntime.EnsureLoaded();
        torch.InitializeDeviceType(DeviceType.CPU);
        _device = torch.CPU;
    }

    /// <summary>The device new tensors and models are placed on.</summary>
    public torch.Device Device
    {
        get { lock (_gate) return _device; }
    }

    /// <summary>Intra-op threads libtorch may use.</summary>
    public int Threads => torch.get_num_threads();

    /// <summary>The models loaded in this session.</summary>
    public ModelCache Models { get; } = new();

    /// <summary>
    /// Selects the device: "cpu", "cuda" (device 0) or "cuda:N". Asking for CUDA on a CPU build or on
    /// a machine without a usable GPU fails with a message that says which.
    /// </summary>
    public void SetDevice(string device)
    {
        var parsed = DeviceSpec.Parse(device);
        torch.Device target;
        if (parsed.IsCuda)
        {
            if (Backend != "cuda")
                throw new FssdDeviceUnavailableException(
                    $"Device '{device}' needs CUDA, but this is a CPU build of the Fssd module (FssdBackend=cpu). " +
                    "Build with 'build.ps1 Build -Backend cuda' on a machine with the CUDA TorchSharp packages.");
            if (!torch.cuda.is_available())
                throw new FssdDeviceUnavailableException(
                    $"Device '{device}' needs CUDA, but no CUDA device is available on this machine.");
            int count = torch.cuda.device_count();
            if (parsed.Index >= count)
                throw new FssdDeviceUnavailableException(
                    $"Device '{device}' does not exist: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1}).");
            target = torch.device(DeviceType.CUDA, parsed.Index);
        }
        else
        {
            target = torch.CPU;
        }
        lock (_gate) _device = target;
    }

    /// <summary>Sets libtorch's intra-op thread count (at least 1).</summary>
    public void SetThreads(int threads)
    {
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1.");
        torch.set_num_threads(threads);
    }

    private FssdPrecision _precision = FssdPrecision.Float32;

    /// <summary>The number format FSSD's scoring passes were asked to compute in (see <see cref="ScoringPrecision"/>).</summary>
    public FssdPrecision Precision
    {
        get { lock (_gate) return _precision; }
    }

    /// <summary>Asks FSSD's scoring passes to compute in <paramref name="precision"/> from now on.</summary>
    public void SetPrecision(FssdPrecision precision)
    {
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "Float32 or BFloat16.");
        lock (_gate) _precision = precision;
    }

    /// <summary>
    /// The precision scoring on <paramref name="device"/> uses when <paramref name="requested"/> is asked for,
    /// and why it differs where it does: bfloat16 on a CPU only where the processor computes it itself
    /// (emulated, it is slower than float32, and no more exact); on a GPU as asked.
    /// </summary>
    public static (FssdPrecision Precision, string Note) ScoringPrecision(FssdPrecision requested, torch.Device device)
    {
        if (requested == FssdPrecision.Float32 || device.type == DeviceType.CUDA) return (requested, "");
        if (ProcessorFeatures.HasBFloat16) return (requested, "");
        string found = ProcessorFeatures.InstructionSets.Count == 0 ? "none detected" : string.Join(", ", ProcessorFeatures.InstructionSets);
        return (FssdPrecision.Float32,
            $"BFloat16 was asked for, but this processor has neither AVX512-BF16 nor AMX-BF16 (instruction sets: {found}); scoring in Float32, which is faster here.");
    }

    /// <summary>
    /// Sets what image decoding may do (process-wide, like the device): the largest declared size and the
    /// memory whole-frame decodes may hold at once. A null leaves that limit as it is.
    /// </summary>
    public void SetImageLimits(long? maxPixels, long? decodeMemoryBytes)
    {
        var current = Data.ImageLimits.Current;
        Data.ImageLimits.Current = current with
        {
            MaxPixels = maxPixels ?? current.MaxPixels,
            DecodeMemoryBytes = decodeMemoryBytes ?? current.DecodeMemoryBytes,
        };
    }

    /// <summary>A snapshot of the context for display.</summary>
    public FssdContextInfo Describe()
    {
        bool cuda = Backend == "cuda" && torch.cuda.is_available();
        var device = Device;
        var requested = Precision;
        var (precision, note) = ScoringPrecision(requested, device);
        return new FssdContextInfo
        {
            Device = device.type == DeviceType.CUDA ? $"cuda:{device.index}" : "cpu",
            DeviceName = device.type == DeviceType.CUDA ? $"CUDA device {device.index}" : ProcessorName(),
            TorchVersion = LibtorchVersion(),
            TorchSharpVersion = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "",
            Backend = Backend,
            Threads = Threads,
            Precision = precision,
            RequestedPrecision = requested,
            PrecisionNote = note,
            InstructionSets = ProcessorFeatures.InstructionSets,
            BlockCache = Runtime.BlockCache.Status,
            MaxImagePixels = Data.ImageLimits.Current.MaxPixels,
            DecodeMemoryLimit = Data.ImageLimits.Current.DecodeMemoryBytes,
            CudaAvailable = cuda,
            CudaDeviceCount = cuda ? torch.cuda.device_count() : 0,
            NativeLibraryPath = NativeRuntime.Directory ?? "",
            Models = Models.Loaded.Select(m => m.Info).ToList(),
            Dependencies = DependencyVersions(),
        };
    }

    /// <summary>libtorch's version as "major.minor.patch" (TorchSharp reports four parts).</summary>
    public static string LibtorchVersion()
    {
        string v = torch.__version__;
        return Version.TryParse(v, out var parsed) && parsed.Build >= 0 ? parsed.ToString(3) : v;
    }

    private static IReadOnlyDictionary<string, string> DependencyVersions()
    {
        // Resolved from the engine's own references, so they show what this module's load context
        // picked, whatever another module loaded into PowerShell's default context.
        var types = new[]
        {
            typeof(torch),
            typeof(Google.Protobuf.ByteString),
            typeof(YamlDotNet.Serialization.Serializer),
        };
        return types.Select(t => t.Assembly.GetName())
            .ToDictionary(n => n.Name ?? "", n => n.Version?.ToString() ?? "");
    }

    private static string ProcessorName()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                string? line = File.ReadLines("/proc/cpuinfo")
                    .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
            }
            string? id = Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER");
            if (!string.IsNullOrWhiteSpace(id)) return id;
        }
        catch (IOException)
        {
        }
        return $"{Environment.ProcessorCount}-core {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} processor";
    }
}
