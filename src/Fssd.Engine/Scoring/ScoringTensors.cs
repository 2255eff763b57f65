using System.Linq;
using Fssd.Engine.Models;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring;

/// <summary>Small tensor chores every scorer shares: the input step's per-channel scale and reading a score column back.</summary>
internal static class ScoringTensors
{
    /// <summary>
    /// The model's per-channel input std as [1, C, 1, 1] on <paramref name="device"/>: a step of ε in pixel
    /// space is ε / std in the normalized space the network sees.
    /// </summary>
    public static Tensor ChannelStd(LoadedModel model, Device device)
    {
        var std = model.Info.InputSpec.Std;
        return tensor(std.Select(s => (float)s).ToArray(), new long[] { 1, std.Length, 1, 1 }, device: device);
    }

    /// <summary>Copies a [B] tensor into column <paramref name="column"/> of a [B, K] array, in double precision.</summary>
    public static void CopyColumn(Tensor values, double[,] into, int column)
    {
        var data = values.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < data.Length; i++) into[i, column] = data[i];
    }
}
