using System;
using System.Linq;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.FeatureSpace;

/// <summary>
/// The k-nearest-neighbour detector's fitted features at one tap (Sun et al., 2022, with cosine distance):
/// in-distribution features scaled to unit length, [N, D] in float32. An input's score is its cosine
/// similarity to the k-th most similar bank row minus 1, i.e. the negated cosine distance to its k-th
/// nearest neighbour: 0 for an input with k identical neighbours, down to −2.
/// </summary>
public sealed class NeighborBank : IDisposable
{
    /// <summary>The most rows a bank keeps (20 MB of float32 at 512 dimensions); beyond it, a seeded subsample of the fitted inputs.</summary>
    public const int MaxRows = 10_000;

    /// <summary>
    /// k when nobody says: measured on the photo benchmarks (docs/photos.md, 41 and 50 photos fitted), k = 1
    /// had the best mean and the best worst-case AUROC of k = 1, 5, 10, 20; larger k blurred a fit set made of
    /// several kinds of object into one.
    /// </summary>
    public const int DefaultNeighbors = 1;

    /// <summary>Queries compared with the bank at once: [chunk, N] similarities stay small.</summary>
    private const int QueryChunk = 512;

    private NeighborBank(Tensor features, int neighbors)
    {
        Features = features;
        Neighbors = neighbors;
    }

    /// <summary>[N, D] float32, rows of unit length.</summary>
    public Tensor Features { get; }

    /// <summary>k: the rank of the neighbour whose distance scores an input.</summary>
    public int Neighbors { get; }

    public int Count => (int)Features.shape[0];
    public int Dimension => (int)Features.shape[1];

    /// <summary>Rows of <paramref name="features"/> [N, D] scaled to unit length, in float32 (an all-zero row stays zero).</summary>
    public static Tensor Normalize(Tensor features)
    {
        using var scope = NewDisposeScope();
        var x = features.to_type(ScalarType.Float32);
        using var floor = 1e-12.ToScalar();
        var norms = x.mul(x).sum(1, keepdim: true).sqrt().clamp_min(floor);
        return x.div(norms).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Which of <paramref name="count"/> fitted inputs a bank keeps: all of them up to <paramref name="maxRows"/>,
    /// beyond it <paramref name="maxRows"/> drawn without replacement by <paramref name="seed"/>, in input order.
    /// </summary>
    public static int[] KeptRows(int count, int maxRows, long seed)
    {
        if (maxRows < 1) throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "A bank keeps at least one row.");
        if (count <= maxRows) return Enumerable.Range(0, count).ToArray();
        return Data.Shuffle.Permutation(count, seed).Take(maxRows).Order().ToArray();
    }

    /// <summary>The bank of the rows <paramref name="kept"/> of <paramref name="features"/> [N, D], normalised.</summary>
    public static NeighborBank Fit(Tensor features, int neighbors, int[] kept)
    {
        if (features.dim() != 2) throw new ArgumentException("Features must be [N, D].", nameof(features));
        if (neighbors < 1) throw new ArgumentOutOfRangeException(nameof(neighbors), neighbors, "k is at least 1.");
        if (kept.Length < neighbors)
            throw new FssdDataException($"Knn with k = {neighbors} needs at least {neighbors} fitted features; it has {kept.Length}.");
        using var scope = NewDisposeScope();
        using var index = tensor(kept.Select(i => (long)i).ToArray(), device: features.device);
        var bank = Normalize(features.index_select(0, index)).contiguous();
        return new NeighborBank(bank.MoveToOuterDisposeScope().DetachFromDisposeScope(), neighbors);
    }

    /// <summary>
    /// Scores features [B, D]: [B] float64, the similarity to the k-th nearest bank row minus 1. With
    /// <paramref name="self"/> (one entry per row: the row's own position in the bank, or −1), each row's own
    /// bank entry is left out — the leave-one-out score of an input the bank was fitted on.
    /// </summary>
    public Tensor Score(Tensor features, long[]? self = null)
    {
        if (features.dim() != 2 || features.shape[1] != Dimension)
            throw new ArgumentException($"Features must be [B, {Dimension}]; they are [{string.Join(", ", features.shape)}].", nameof(features));
        int need = Neighbors + (self is null ? 0 : 1);
        if (self is not null && self.Length != features.shape[0]) throw new ArgumentException("One bank position per row.", nameof(self));
        if (Count < need)
            throw new FssdDataException($"Knn with k = {Neighbors} needs at least {need} fitted features here; the bank has {Count}.");
        long rows = features.shape[0];
        var parts = new Tensor[(rows + QueryChunk - 1) / QueryChunk];
        using var scope = NewDisposeScope();
        for (long start = 0, p = 0; start < rows; start += QueryChunk, p++)
        {
            using var chunk = NewDisposeScope();
            long n = Math.Min(QueryChunk, rows - start);
            var similarity = Normalize(features.narrow(0, start, n)).matmul(Features.t());
            if (self is not null)
            {
                var rowsIn = Enumerable.Range(0, (int)n).Where(i => self[start + i] >= 0).Select(i => (long)i).ToArray();
                if (rowsIn.Length > 0)
                {
                    var at = tensor(rowsIn, device: similarity.device);
                    var own = tensor(rowsIn.Select(i => self[start + i]).ToArray(), device: similarity.device);
                    similarity.index_put_(tensor(float.NegativeInfinity, device: similarity.device), at, own);
                }
            }
            var (top, _) = similarity.topk(Neighbors, 1, largest: true, sorted: true);
            parts[p] = top.select(1, Neighbors - 1).to_type(ScalarType.Float64).sub(HeldScalars.One).MoveToOuterDisposeScope();
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>The bank as plain data, for a detector to carry and a file to keep.</summary>
    public FssdFeatureBank ToData(int modelIndex, string tap, TapReduction? reduction = null)
    {
        using var cpu = Features.cpu().contiguous();
        return new FssdFeatureBank { ModelIndex = modelIndex, Tap = tap, Reduction = reduction, Count = Count, Dimension = Dimension, Features = cpu.data<float>().ToArray() };
    }

    /// <summary>Rebuilds a bank from a detector's data on <paramref name="device"/>.</summary>
    public static NeighborBank FromData(FssdFeatureBank data, int neighbors, Device device)
    {
        if (data.Count < 1 || data.Dimension < 1 || data.Features.LongLength != (long)data.Count * data.Dimension)
            throw new FssdModelException($"The Knn features of tap '{data.Tap}' do not have the declared {data.Count} x {data.Dimension} shape.");
        if (neighbors < 1 || neighbors > data.Count)
            throw new FssdModelException($"The Knn detector's k is {neighbors}, but tap '{data.Tap}' keeps {data.Count} features.");
        var features = tensor(data.Features, new long[] { data.Count, data.Dimension }, device: device);
        return new NeighborBank(features.DetachFromDisposeScope(), neighbors);
    }

    public void Dispose() => Features.Dispose();
}
