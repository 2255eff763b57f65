using System;
using System.Linq;

namespace Fssd.Engine.Data;

/// <summary>Seeded Fisher–Yates permutations: the one shuffle behind validation draws, calibration halves and pseudo-outliers.</summary>
internal static class Shuffle
{
    /// <summary>A generator for a 64-bit seed, as every seeded split in the engine makes it.</summary>
    public static Random Generator(long seed) => new((int)(seed & 0x7fffffff));

    /// <summary>A uniformly random order of 0..n−1 drawn from <paramref name="random"/>.</summary>
    public static int[] Permutation(int n, Random random)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>A uniformly random order of 0..n−1 for a seed.</summary>
    public static int[] Permutation(int n, long seed) => Permutation(n, Generator(seed));
}
