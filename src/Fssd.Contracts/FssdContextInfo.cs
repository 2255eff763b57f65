using System.Collections.Generic;

namespace Fssd;

/// <summary>
/// A snapshot of the session's compute context: the device scoring runs on, the libtorch it uses and
/// the threads it may take. Returned by Get-FssdContext and Set-FssdContext.
/// </summary>
public sealed class FssdContextInfo
{
    /// <summary>The device tensors are placed on: "cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>What the device is, in words (the processor or GPU model).</summary>
    public string DeviceName { get; init; } = "";

    /// <summary>The libtorch version the module runs on, e.g. "2.10.0".</summary>
    public string TorchVersion { get; init; } = "";

    /// <summary>The TorchSharp binding version.</summary>
    public string TorchSharpVersion { get; init; } = "";

    /// <summary>The backend the module was built for: "cpu" or "cuda".</summary>
    public string Backend { get; init; } = "cpu";

    /// <summary>Intra-op threads libtorch may use.</summary>
    public int Threads { get; init; }

    /// <summary>Whether a CUDA device can be used by this build on this machine.</summary>
    public bool CudaAvailable { get; init; }

    /// <summary>How many CUDA devices this build sees.</summary>
    public int CudaDeviceCount { get; init; }

    /// <summary>The number format FSSD's scoring passes compute in on this device (Set-FssdContext -Precision).</summary>
    public FssdPrecision Precision { get; init; }

    /// <summary>The precision asked for; differs from <see cref="Precision"/> where the device cannot compute it fast (see <see cref="PrecisionNote"/>).</summary>
    public FssdPrecision RequestedPrecision { get; init; }

    /// <summary>Why the precision differs from the one asked for; empty where it does not.</summary>
    public string PrecisionNote { get; init; } = "";

    /// <summary>The processor's vector instruction sets libtorch's CPU kernels use (e.g. AVX2, AVX512F, AVX512-BF16, AMX-BF16).</summary>
    public IReadOnlyList<string> InstructionSets { get; init; } = System.Array.Empty<string>();

    /// <summary>
    /// Whether libtorch's large CPU buffers are kept for reuse between batches ("on (…)"), or "off: "
    /// and why (not Linux, FSSD_BLOCK_CACHE=0, or a build without the cache library).
    /// </summary>
    public string BlockCache { get; init; } = "";

    /// <summary>The largest width × height an image file may declare; larger files are refused before decoding.</summary>
    public long MaxImagePixels { get; init; }

    /// <summary>Bytes that decodes needing a whole-frame buffer may hold at once, across all decoding threads.</summary>
    public long DecodeMemoryLimit { get; init; }

    /// <summary>The folder the native libraries were loaded from.</summary>
    public string NativeLibraryPath { get; init; } = "";

    /// <summary>The models loaded in this session, most recent first.</summary>
    public IReadOnlyList<FssdModel> Models { get; init; } = System.Array.Empty<FssdModel>();

    /// <summary>Managed dependencies as the module's own load context resolved them (name, version).</summary>
    public IReadOnlyDictionary<string, string> Dependencies { get; init; } = new Dictionary<string, string>();
}
