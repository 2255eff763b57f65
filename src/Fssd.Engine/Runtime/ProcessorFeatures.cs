using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics.X86;

namespace Fssd.Engine.Runtime;

/// <summary>
/// The vector instruction sets of this processor that matter to libtorch's CPU kernels, read once with
/// CPUID (x86) and checked against what the operating system enables (.NET's IsSupported flags).
/// </summary>
public static class ProcessorFeatures
{
    private static readonly Lazy<(IReadOnlyList<string> Names, bool BFloat16)> Found = new(Probe);

    /// <summary>The instruction sets found, e.g. "AVX2", "AVX512F", "AVX512-BF16", "AMX-BF16"; empty on other processors.</summary>
    public static IReadOnlyList<string> InstructionSets => Found.Value.Names;

    /// <summary>Whether the processor computes bfloat16 products itself (AVX512-BF16 or AMX-BF16), so that bfloat16 is faster than float32.</summary>
    public static bool HasBFloat16 => Found.Value.BFloat16;

    private static (IReadOnlyList<string>, bool) Probe()
    {
        var names = new List<string>();
        if (!X86Base.IsSupported) return (names, false);
        if (Sse42.IsSupported) names.Add("SSE4.2");
        if (Avx.IsSupported) names.Add("AVX");
        if (Avx2.IsSupported) names.Add("AVX2");
        if (Fma.IsSupported) names.Add("FMA");
        bool avx512 = Avx512F.IsSupported;
        if (avx512) names.Add("AVX512F");
        if (Avx512BW.IsSupported) names.Add("AVX512BW");
        if (Avx512Vbmi.IsSupported) names.Add("AVX512VBMI");
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < 7 || !avx512) return (names, false);
        // Leaf 7 subleaf 0: EAX the last subleaf, ECX bit 11 AVX512-VNNI, EDX bit 22 AMX-BF16, bit 23
        // AVX512-FP16, bit 24 AMX-TILE. Subleaf 1: EAX bit 5 AVX512-BF16.
        var (maxSub, _, ecx0, edx0) = X86Base.CpuId(7, 0);
        bool avx512Bf16 = maxSub >= 1 && (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;
        bool amxBf16 = (edx0 & (1 << 22)) != 0 && (edx0 & (1 << 24)) != 0;
        if ((ecx0 & (1 << 11)) != 0) names.Add("AVX512-VNNI");
        if (avx512Bf16) names.Add("AVX512-BF16");
        if ((edx0 & (1 << 23)) != 0) names.Add("AVX512-FP16");
        if (amxBf16) names.Add("AMX-BF16");
        bool bf16 = avx512Bf16 || amxBf16;
        return (names, bf16);
    }
}
