namespace Fssd.Engine.Data;

/// <summary>SplitMix64 (Steele, Lea and Flood, 2014): the seeded generator behind every shuffle and drawing of provisioned data.</summary>
internal static class SplitMix64
{
    public static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
