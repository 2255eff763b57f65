using TorchSharp;

namespace Fssd.Engine.Runtime;

/// <summary>
/// Scalars held for the life of the process, for the constants the engine passes libtorch.
/// <para>
/// Why: a TorchSharp Scalar made for one call (an implicit conversion, or the alpha of 1 that
/// <c>Tensor.add(other)</c> makes inside TorchSharp) is unreachable as soon as its handle has been read,
/// so a garbage collection during the native call may finalize it and free the native scalar while
/// libtorch reads it. The engine passes only Scalars something holds: these, or a <c>using</c> variable
/// that lives until the call returns. An xunit test reads the engine's IL for calls that break this.
/// </para>
/// </summary>
public static class HeldScalars
{
    /// <summary>1, the alpha of a plain addition: <c>a.add(b, HeldScalars.One)</c> is a + b.</summary>
    public static readonly Scalar One = 1.0.ToScalar();

    /// <summary>1 as an integer: the alpha of an addition of integer tensors (libtorch refuses a floating-point one there).</summary>
    public static readonly Scalar IntegerOne = 1L.ToScalar();
}
