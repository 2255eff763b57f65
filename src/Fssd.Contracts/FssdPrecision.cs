namespace Fssd;

/// <summary>
/// The number format FSSD's scoring passes compute in. Inputs, centers, distances, step directions and
/// scores stay float32 whatever the choice; only the scoring network's weights and activations change.
/// </summary>
public enum FssdPrecision
{
    /// <summary>32-bit floats throughout (what a detector is calibrated in).</summary>
    Float32,

    /// <summary>
    /// bfloat16 weights and activations (8 significant bits, float32's range) in the convolutions of the
    /// forward passes that give the scores; the gradient passes that set the step stay float32. Fast only
    /// where the processor computes bfloat16 itself (AVX512-BF16 or AMX on x86, or a GPU that has it);
    /// elsewhere the session scores in float32 and says why.
    /// </summary>
    BFloat16,
}
