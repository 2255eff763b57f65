namespace Fssd;

/// <summary>
/// The number format FSSD's scoring passes compute in. Inputs, centers, distances, step directions and
/// scores stay in float32 whatever the choice; only the network's weights and activations change.
/// </summary>
public enum FssdPrecision
{
    /// <summary>32-bit floats throughout (what a detector is calibrated in).</summary>
    Float32,

    /// <summary>
    /// bfloat16 weights and activations in the network's forward and backward passes (8 significant bits,
    /// float32's range). Fast only where the processor computes bfloat16 itself (AVX512-BF16 or AMX on x86,
    /// or a GPU that has it); elsewhere the session scores in float32 and says why.
    /// </summary>
    BFloat16,
}
