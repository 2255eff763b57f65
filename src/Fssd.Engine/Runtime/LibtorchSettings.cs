using System;
using System.Runtime.InteropServices;

namespace Fssd.Engine.Runtime;

/// <summary>
/// Settings of libtorch's global context that TorchSharp does not expose. On processors NNPACK does
/// not support, every batch-of-one convolution tries it and prints "Could not initialize NNPACK!
/// Reason: Unsupported hardware." to stderr — into the user's console, once per call, whatever
/// TORCH_CPP_LOG_LEVEL says. Turning NNPACK off (as torch.backends.nnpack.set_flags(False) does)
/// makes libtorch take its other convolution kernels, silently. Where the exports are missing
/// (another libtorch build) nothing changes.
/// </summary>
internal static unsafe class LibtorchSettings
{
    private static readonly (string GlobalContext, string SetNnpack)[] Exports =
    {
        ("_ZN2at13globalContextEv", "_ZN2at7Context20setUserEnabledNNPACKEb"),             // Itanium C++ ABI (Linux)
        ("?globalContext@at@@YAAEAVContext@1@XZ", "?setUserEnabledNNPACK@Context@at@@QEAAX_N@Z"), // MSVC (Windows)
    };

    public static bool DisableNnpack(IntPtr torchCpu)
    {
        foreach (var (global, set) in Exports)
        {
            if (!NativeLibrary.TryGetExport(torchCpu, global, out IntPtr globalFn) ||
                !NativeLibrary.TryGetExport(torchCpu, set, out IntPtr setFn)) continue;
            IntPtr context = ((delegate* unmanaged<IntPtr>)globalFn)();
            ((delegate* unmanaged<IntPtr, byte, void>)setFn)(context, 0);
            return true;
        }
        return false;
    }
}
