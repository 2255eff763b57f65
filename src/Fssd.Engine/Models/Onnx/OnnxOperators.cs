using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Fssd.Engine.Models.Onnx;

/// <summary>What an operator reads when it runs: the node, its opset, its inputs and their host values.</summary>
internal sealed class OnnxNodeCall
{
    private readonly Func<int, long[]> _integers;

    public OnnxNodeCall(OnnxNode node, long opset, Tensor?[] inputs, Func<int, long[]> integers, long batch)
    {
        Node = node;
        Opset = opset;
        Inputs = inputs;
        _integers = integers;
        Batch = batch;
    }

    /// <summary>The batch size of the graph's input, which scales what a sane tensor size is.</summary>
    public long Batch { get; }

    public OnnxNode Node { get; }
    public long Opset { get; }

    /// <summary>The input tensors in order; null for an optional input left out (an empty name).</summary>
    public Tensor?[] Inputs { get; }

    public Tensor Input(int index) =>
        index < Inputs.Length && Inputs[index] is { } t ? t : throw Fail($"needs input {index + 1}, which is missing");

    public Tensor? Optional(int index) => index < Inputs.Length ? Inputs[index] : null;

    /// <summary>An int64 input's values on the host (shapes, axes, pads), read once for constants.</summary>
    public long[]? Integers(int index) => Optional(index) is null ? null : _integers(index);

    public long Int(string name, long fallback)
    {
        if (!Node.Attributes.TryGetValue(name, out var a)) return fallback;
        if (a.Type != OnnxAttribute.IntType) throw Fail($"has attribute '{name}' of type {a.Type}, not an integer");
        return a.Int;
    }

    public float Float(string name, float fallback)
    {
        if (!Node.Attributes.TryGetValue(name, out var a)) return fallback;
        if (a.Type != OnnxAttribute.FloatType) throw Fail($"has attribute '{name}' of type {a.Type}, not a float");
        return a.Float;
    }

    public string String(string name, string fallback)
    {
        if (!Node.Attributes.TryGetValue(name, out var a)) return fallback;
        if (a.Type != OnnxAttribute.StringType) throw Fail($"has attribute '{name}' of type {a.Type}, not a string");
        return a.String;
    }

    public long[]? Ints(string name)
    {
        if (!Node.Attributes.TryGetValue(name, out var a)) return null;
        if (a.Type != OnnxAttribute.IntsType) throw Fail($"has attribute '{name}' of type {a.Type}, not a list of integers");
        return a.Ints.ToArray();
    }

    public bool Has(string name) => Node.Attributes.ContainsKey(name);

    /// <summary>Whether output <paramref name="index"/> is wanted (present and named).</summary>
    public bool Wants(int index) => index < Node.Outputs.Count && Node.Outputs[index].Length > 0;

    public FssdModelException Fail(string what) => new($"The ONNX node {Node.Label} ({Node.OpType}) {what}.");
}

/// <summary>
/// The ONNX operators this module runs, each as TorchSharp operations so that gradients flow through
/// them to the input. Semantics follow the ONNX operator specification for opsets 7 to 17 (attribute
/// forms of older opsets included where the supported operators changed).
/// </summary>
internal static class OnnxOperators
{
    /// <summary>Largest tensor an operator may make from sizes a file sets (pads, output shapes), per batch item.</summary>
    private const long MaxElementsPerItem = 1L << 28;

    public static readonly IReadOnlySet<string> Supported = new HashSet<string>(StringComparer.Ordinal)
    {
        "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "ConvTranspose",
        "Div", "Dropout", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "LeakyRelu",
        "LogSoftmax", "MatMul", "MaxPool", "Mul", "Pad", "ReduceMean", "Relu", "Reshape", "Shape", "Sigmoid", "Softmax",
        "Split", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
    };

    /// <summary>
    /// x where x ≥ 0, else alpha·x. Not functional.leaky_relu: TorchSharp makes a Scalar of its slope that
    /// nothing holds during the call.
    /// </summary>
    private static Tensor LeakyRelu(Tensor x, float alpha)
    {
        using var zero = 0.0.ToScalar();
        using var slope = ((double)alpha).ToScalar();
        using var positive = x.ge(zero);
        using var scaled = x.mul(slope);
        return where(positive, x, scaled);
    }

    /// <summary>The first element of a tensor as a double, read from its data (Tensor.ToDouble goes through a Scalar nothing holds).</summary>
    private static double FirstValue(Tensor t)
    {
        using var values = t.to_type(ScalarType.Float64).cpu().flatten();
        return values.data<double>()[0];
    }

    /// <summary>Runs one node; returns one tensor per declared output (null for outputs left unnamed).</summary>
    public static Tensor?[] Run(OnnxNodeCall c)
    {
        switch (c.Node.OpType)
        {
            case "Identity": return One(c.Input(0).alias());
            case "Relu": return One(c.Input(0).relu());
            case "Sigmoid": return One(c.Input(0).sigmoid());
            case "Tanh": return One(c.Input(0).tanh());
            case "LeakyRelu": return One(LeakyRelu(c.Input(0), c.Float("alpha", 0.01f)));
            case "Add": return One(Binary(c, Add));
            case "Sub": return One(Binary(c, (a, b) => a.sub(b)));
            case "Mul": return One(Binary(c, (a, b) => a.mul(b)));
            case "Div": return One(Binary(c, Divide));
            case "Clip": return One(Clip(c));
            case "Conv": return One(Convolution(c));
            case "ConvTranspose": return One(TransposedConvolution(c));
            case "BatchNormalization": return One(BatchNormalization(c));
            case "MaxPool": return One(MaxPool(c));
            case "AveragePool": return One(AveragePool(c));
            case "GlobalAveragePool": return One(c.Input(0).mean(SpatialDims(c.Input(0)), keepdim: true));
            case "GlobalMaxPool": return One(c.Input(0).amax(SpatialDims(c.Input(0)), keepdim: true));
            case "Gemm": return One(Gemm(c));
            case "MatMul": return One(MatMul(c));
            case "Flatten": return One(Flatten(c));
            case "Reshape": return One(Reshape(c));
            case "Transpose": return One(Transpose(c));
            case "Concat": return One(Concat(c));
            case "Split": return Split(c);
            case "Squeeze": return One(Squeeze(c));
            case "Unsqueeze": return One(Unsqueeze(c));
            case "Pad": return One(Pad(c));
            case "Softmax": return One(Softmax(c, log: false));
            case "LogSoftmax": return One(Softmax(c, log: true));
            case "Dropout": return Dropout(c);
            case "Shape": return One(Shape(c));
            case "Gather": return One(Gather(c));
            case "Cast": return One(Cast(c));
            case "ReduceMean": return One(ReduceMean(c));
            default: throw c.Fail("is not an operator this module implements");
        }
    }

    private static Tensor?[] One(Tensor t) => new Tensor?[] { t };

    private static long[] SpatialDims(Tensor x) => Enumerable.Range(2, Math.Max(0, (int)x.dim() - 2)).Select(i => (long)i).ToArray();

    /// <summary>An elementwise operator on two operands, broadcast numpy-style; the result's size is checked first.</summary>
    private static Tensor Binary(OnnxNodeCall c, Func<Tensor, Tensor, Tensor> op)
    {
        var a = c.Input(0);
        var b = Second(c);
        CheckSize(c, BroadcastShape(c, a.shape, b.shape));
        return op(a, b);
    }

    private static long[] BroadcastShape(OnnxNodeCall c, long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long x = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long y = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (x != y && x != 1 && y != 1)
                throw c.Fail($"cannot broadcast [{string.Join(", ", a)}] with [{string.Join(", ", b)}]");
            shape[i] = x == 1 ? y : x;
        }
        return shape;
    }

    private static Tensor MatMul(OnnxNodeCall c)
    {
        var a = c.Input(0);
        var b = c.Input(1);
        if (a.dim() >= 2 && b.dim() >= 2)
        {
            var batch = BroadcastShape(c, a.shape.SkipLast(2).ToArray(), b.shape.SkipLast(2).ToArray());
            CheckSize(c, batch.Concat(new[] { a.shape[^2], b.shape[^1] }).ToArray());
        }
        return a.matmul(b);
    }

    /// <summary>The second operand; before opset 7 it could be aligned at an axis instead of numpy-style.</summary>
    private static Tensor Second(OnnxNodeCall c)
    {
        var b = c.Input(1);
        if (c.Opset < 7 && c.Int("broadcast", 0) == 1 && c.Has("axis"))
        {
            long rank = c.Input(0).dim();
            long axis = Axis(c, c.Int("axis", 0), rank);
            long trailing = rank - axis - b.dim();
            if (trailing < 0) throw c.Fail($"aligns a rank-{b.dim()} operand at axis {axis} of a rank-{rank} one");
            return b.reshape(b.shape.Concat(Enumerable.Repeat(1L, (int)trailing)).ToArray());
        }
        return b.alias();
    }

    private static Tensor Add(Tensor a, Tensor b) =>
        a.add(b, a.dtype.IsIntegral() && b.dtype.IsIntegral() ? HeldScalars.IntegerOne : HeldScalars.One);

    private static Tensor Divide(Tensor a, Tensor b) =>
        a.dtype.IsIntegral() && b.dtype.IsIntegral() ? a.div(b, RoundingMode.trunc) : a.div(b);

    private static Tensor Clip(OnnxNodeCall c)
    {
        var x = c.Input(0);
        if (c.Opset < 11)
        {
            using var low = ((double)c.Float("min", float.MinValue)).ToScalar();
            using var high = ((double)c.Float("max", float.MaxValue)).ToScalar();
            return x.clamp(low, high);
        }
        var min = c.Optional(1);
        var max = c.Optional(2);
        if (min is null && max is null) return x.alias();
        return x.clamp(min, max);
    }

    private static long Axis(OnnxNodeCall c, long axis, long rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw c.Fail($"has axis {axis} for a rank-{rank} input");
        return a;
    }

    // ---- convolution and pooling -------------------------------------------------------------

    /// <summary>The spatial geometry of a convolution or pooling window.</summary>
    private sealed record Window(long[] Kernel, long[] Strides, long[] Dilations, long[] Begin, long[] End)
    {
        public bool Symmetric => Begin.SequenceEqual(End);
    }

    private static long[] PerAxis(OnnxNodeCall c, string name, int rank, long fallback, long minimum)
    {
        var values = c.Ints(name) ?? Enumerable.Repeat(fallback, rank).ToArray();
        if (values.Length != rank) throw c.Fail($"has {values.Length} {name} for {rank} spatial axes");
        if (values.Any(v => v < minimum)) throw c.Fail($"has {name} [{string.Join(", ", values)}]; each must be at least {minimum}");
        return values;
    }

    /// <summary>Kernel, strides, dilations and the padding at each side, auto_pad resolved for these spatial sizes.</summary>
    private static Window Geometry(OnnxNodeCall c, long[] spatial, long[] kernel, bool dilated)
    {
        int rank = spatial.Length;
        var strides = PerAxis(c, "strides", rank, 1, 1);
        var dilations = dilated ? PerAxis(c, "dilations", rank, 1, 1) : Enumerable.Repeat(1L, rank).ToArray();
        var begin = new long[rank];
        var end = new long[rank];
        string autoPad = c.String("auto_pad", "NOTSET");
        switch (autoPad)
        {
            case "NOTSET":
                var pads = c.Ints("pads") ?? new long[2 * rank];
                if (pads.Length != 2 * rank) throw c.Fail($"has {pads.Length} pads for {rank} spatial axes (needs {2 * rank})");
                if (pads.Any(p => p < 0)) throw c.Fail($"has negative pads [{string.Join(", ", pads)}]");
                Array.Copy(pads, 0, begin, 0, rank);
                Array.Copy(pads, rank, end, 0, rank);
                break;
            case "VALID":
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                for (int i = 0; i < rank; i++)
                {
                    long output = (spatial[i] + strides[i] - 1) / strides[i];
                    long total = Math.Max(0, (output - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i]);
                    long small = total / 2;
                    (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
                }
                break;
            default:
                throw c.Fail($"has auto_pad '{autoPad}' (NOTSET, VALID, SAME_UPPER or SAME_LOWER)");
        }
        return new Window(kernel, strides, dilations, begin, end);
    }

    private static long[] Spatial(Tensor x) => x.shape.Skip(2).ToArray();

    /// <summary>torch's pad list (last axis first, begin then end) for per-axis padding of the spatial axes.</summary>
    private static long[] TorchPads(long[] begin, long[] end)
    {
        var pads = new long[2 * begin.Length];
        for (int i = 0; i < begin.Length; i++)
        {
            int axis = begin.Length - 1 - i;
            pads[2 * i] = begin[axis];
            pads[2 * i + 1] = end[axis];
        }
        return pads;
    }

    /// <summary>Checks that padding <paramref name="x"/> by the given amounts makes a tensor of sane size, then pads.</summary>
    private static Tensor PadSpatial(OnnxNodeCall c, Tensor x, long[] begin, long[] end, double value)
    {
        var shape = x.shape.ToArray();
        for (int i = 0; i < begin.Length; i++) shape[2 + i] = checked(shape[2 + i] + begin[i] + end[i]);
        CheckSize(c, shape);
        return F.pad(x, TorchPads(begin, end), PaddingModes.Constant, value);
    }

    /// <summary>
    /// Refuses a tensor the file's sizes would make unreasonably large (more than
    /// <see cref="MaxElementsPerItem"/> values per input of the batch), before anything is allocated.
    /// </summary>
    private static void CheckSize(OnnxNodeCall c, long[] shape)
    {
        if (shape.Any(d => d < 0)) throw c.Fail($"cannot make a tensor of shape [{string.Join(", ", shape)}]");
        long limit = MaxElementsPerItem * Math.Max(1, c.Batch);
        long total = 1;
        foreach (long d in shape)
        {
            if (d > 0 && total > limit / d)
                throw c.Fail($"would make a tensor of shape [{string.Join(", ", shape)}], more than {MaxElementsPerItem} values per input");
            total *= d;
        }
    }

    private static int SpatialRank(OnnxNodeCall c, Tensor x)
    {
        long rank = x.dim() - 2;
        if (rank is < 1 or > 3) throw c.Fail($"reads a tensor of shape [{string.Join(", ", x.shape)}]; it runs on 1 to 3 spatial axes");
        return (int)rank;
    }

    // One spatial axis runs as two, with a leading axis of size 1 (libtorch's 1-D kernels take fewer options).
    private static Tensor Lift(Tensor x) => x.unsqueeze(2);
    private static long[] Lift(long[] v, long one) => new[] { one }.Concat(v).ToArray();

    private static Tensor Convolution(OnnxNodeCall c)
    {
        var x = c.Input(0);
        var w = c.Input(1);
        var bias = c.Optional(2);
        int rank = SpatialRank(c, x);
        if (w.dim() != x.dim()) throw c.Fail($"has weights of shape [{string.Join(", ", w.shape)}] for an input of shape [{string.Join(", ", x.shape)}]");
        var kernel = w.shape.Skip(2).ToArray();
        if (c.Ints("kernel_shape") is { } ks && !ks.SequenceEqual(kernel))
            throw c.Fail($"declares kernel_shape [{string.Join(", ", ks)}] but its weights are [{string.Join(", ", w.shape)}]");
        long groups = c.Int("group", 1);
        if (groups < 1) throw c.Fail($"has group {groups}");
        var g = Geometry(c, Spatial(x), kernel, dilated: true);
        var spatial = Spatial(x);
        var outShape = new[] { x.shape[0], w.shape[0] }.Concat(Enumerable.Range(0, rank).Select(i =>
            (spatial[i] + g.Begin[i] + g.End[i] - ((kernel[i] - 1) * g.Dilations[i] + 1)) / g.Strides[i] + 1)).ToArray();
        CheckSize(c, outShape);
        var padding = g.Begin;
        if (!g.Symmetric)
        {
            x = PadSpatial(c, x, g.Begin, g.End, 0.0);
            padding = new long[rank];
        }
        // Only a convolution handed a channels-last weight (OnnxNetwork.PrepareForInference: kernels of at least
        // 2 x 2, one group, no dilation) runs channels-last; any other gets its input in the plain layout,
        // because libtorch's channels-last 1 x 1 kernels compute wrong values for wide layers.
        using var plain = rank == 2 && !x.is_contiguous() && !(kernel[0] > 1 && kernel[1] > 1 && MemoryLayout.IsChannelsLast(w)) ? x.contiguous() : null;
        if (plain is not null) x = plain;
        return rank switch
        {
            1 => F.conv2d(Lift(x), Lift(w), bias, Lift(g.Strides, 1), Lift(padding, 0), Lift(g.Dilations, 1), groups).squeeze(2),
            2 => F.conv2d(x, w, bias, g.Strides, padding, g.Dilations, groups),
            _ => F.conv3d(x, w, bias, g.Strides, padding, g.Dilations, groups),
        };
    }

    private static Tensor TransposedConvolution(OnnxNodeCall c)
    {
        var x = c.Input(0);
        var w = c.Input(1);
        var bias = c.Optional(2);
        int rank = SpatialRank(c, x);
        // In the plain layout, as every convolution without a channels-last weight (see Convolution).
        using var plain = x.is_contiguous() ? null : x.contiguous();
        if (plain is not null) x = plain;
        if (w.dim() != x.dim()) throw c.Fail($"has weights of shape [{string.Join(", ", w.shape)}] for an input of shape [{string.Join(", ", x.shape)}]");
        var kernel = w.shape.Skip(2).ToArray();
        if (c.Ints("kernel_shape") is { } ks && !ks.SequenceEqual(kernel))
            throw c.Fail($"declares kernel_shape [{string.Join(", ", ks)}] but its weights are [{string.Join(", ", w.shape)}]");
        long groups = c.Int("group", 1);
        if (groups < 1) throw c.Fail($"has group {groups}");
        var strides = PerAxis(c, "strides", rank, 1, 1);
        var dilations = PerAxis(c, "dilations", rank, 1, 1);
        var extra = PerAxis(c, "output_padding", rank, 0, 0);
        var input = Spatial(x);
        var full = new long[rank];
        for (int i = 0; i < rank; i++) full[i] = strides[i] * (input[i] - 1) + (kernel[i] - 1) * dilations[i] + 1;

        var begin = new long[rank];
        var end = new long[rank];
        string autoPad = c.String("auto_pad", "NOTSET");
        long[]? outputShape = c.Ints("output_shape");
        if (outputShape is not null && outputShape.Length == rank + 2) outputShape = outputShape.Skip(2).ToArray();
        if (outputShape is not null && outputShape.Length != rank) throw c.Fail($"has output_shape of {outputShape.Length} axes for {rank} spatial axes");
        if (outputShape is null && autoPad is "SAME_UPPER" or "SAME_LOWER")
            outputShape = Enumerable.Range(0, rank).Select(i => input[i] * strides[i]).ToArray();
        if (outputShape is not null)
        {
            for (int i = 0; i < rank; i++)
            {
                // A negative total (an output larger than the full extent) splits like ONNX's reference: floor division.
                long total = full[i] + extra[i] - outputShape[i];
                long small = (long)Math.Floor(total / 2.0);
                (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
            }
        }
        else if (autoPad == "NOTSET")
        {
            var pads = c.Ints("pads") ?? new long[2 * rank];
            if (pads.Length != 2 * rank) throw c.Fail($"has {pads.Length} pads for {rank} spatial axes (needs {2 * rank})");
            if (pads.Any(p => p < 0)) throw c.Fail($"has negative pads [{string.Join(", ", pads)}]");
            Array.Copy(pads, 0, begin, 0, rank);
            Array.Copy(pads, rank, end, 0, rank);
        }
        else if (autoPad != "VALID")
        {
            throw c.Fail($"has auto_pad '{autoPad}' (NOTSET, VALID, SAME_UPPER or SAME_LOWER)");
        }
        var outShape = x.shape.ToArray();
        outShape[1] = w.shape[1] * groups;
        for (int i = 0; i < rank; i++) outShape[2 + i] = full[i] + extra[i] - begin[i] - end[i];
        CheckSize(c, outShape);

        // The transposed convolution over the whole extent, then cropped by the pads (negative padding)
        // and extended by output_padding (positions no input reaches), then the bias.
        var zeros = new long[rank];
        var y = rank switch
        {
            1 => F.conv_transpose2d(Lift(x), Lift(w), null, Lift(strides, 1), Lift(zeros, 0), Lift(zeros, 0), Lift(dilations, 1), groups).squeeze(2),
            2 => F.conv_transpose2d(x, w, null, strides, zeros, zeros, dilations, groups),
            _ => F.conv_transpose3d(x, w, null, strides, zeros, zeros, dilations, groups),
        };
        var crop = TorchPads(begin.Select(b => -b).ToArray(), Enumerable.Range(0, rank).Select(i => extra[i] - end[i]).ToArray());
        if (crop.Any(p => p != 0)) y = F.pad(y, crop, PaddingModes.Constant, 0.0);
        if (bias is not null) y = y.add(bias.reshape(new[] { 1L, -1 }.Concat(Enumerable.Repeat(1L, rank)).ToArray()), HeldScalars.One);
        return y;
    }

    private static Tensor BatchNormalization(OnnxNodeCall c)
    {
        if (c.Opset < 9 && c.Int("spatial", 1) != 1) throw c.Fail("normalizes per position (spatial = 0), which this module does not implement");
        if (c.Int("training_mode", 0) != 0) throw c.Fail("runs in training mode; export the model for inference (model.eval())");
        for (int i = 1; i < c.Node.Outputs.Count; i++)
            if (c.Wants(i)) throw c.Fail("asks for the running statistics a training-mode batch normalization returns");
        double epsilon = c.Float("epsilon", 1e-5f);
        return F.batch_norm(c.Input(0), c.Input(3), c.Input(4), c.Input(1), c.Input(2), false, 0.1, epsilon);
    }

    private static Tensor MaxPool(OnnxNodeCall c)
    {
        if (c.Wants(1)) throw c.Fail("asks for the indices of the maxima, which this module does not compute");
        var x = c.Input(0);
        int rank = SpatialRank(c, x);
        var kernel = PerAxis(c, "kernel_shape", rank, 0, 1);
        if (c.Ints("kernel_shape") is null) throw c.Fail("has no kernel_shape");
        var g = Geometry(c, Spatial(x), kernel, dilated: true);
        bool ceil = c.Int("ceil_mode", 0) != 0;
        var padding = g.Begin;
        // libtorch pads symmetrically by at most half the kernel; other padding is made explicit with -inf.
        if (!g.Symmetric || g.Begin.Where((p, i) => p > kernel[i] / 2).Any())
        {
            x = PadSpatial(c, x, g.Begin, g.End, double.NegativeInfinity);
            padding = new long[rank];
        }
        return rank switch
        {
            1 => F.max_pool2d(Lift(x), Lift(kernel, 1), Lift(g.Strides, 1), Lift(padding, 0), Lift(g.Dilations, 1), ceil).squeeze(2),
            2 => F.max_pool2d(x, kernel, g.Strides, padding, g.Dilations, ceil),
            _ => F.max_pool3d(x, kernel, g.Strides, padding, g.Dilations, ceil),
        };
    }

    private static Tensor AveragePool(OnnxNodeCall c)
    {
        var x = c.Input(0);
        int rank = SpatialRank(c, x);
        if (c.Ints("kernel_shape") is null) throw c.Fail("has no kernel_shape");
        var kernel = PerAxis(c, "kernel_shape", rank, 0, 1);
        if (c.Ints("dilations") is { } d && d.Any(v => v != 1)) throw c.Fail("has dilations, which this module does not implement for average pooling");
        var g = Geometry(c, Spatial(x), kernel, dilated: false);
        bool ceil = c.Int("ceil_mode", 0) != 0;
        bool countPads = c.Int("count_include_pad", 0) != 0;
        if (g.Symmetric && !g.Begin.Where((p, i) => p > kernel[i] / 2).Any())
            return Average(x, kernel, g.Strides, g.Begin, ceil, countPads);

        // Padding libtorch cannot express: pad with zeros, then divide the window sums by the number of
        // input positions each window covers (or by the window size when pads count).
        var padded = PadSpatial(c, x, g.Begin, g.End, 0.0);
        var zeros = new long[rank];
        var sums = Average(padded, kernel, g.Strides, zeros, ceil, true);
        if (countPads) return sums;
        var ones = ones_like(x.narrow(0, 0, 1).narrow(1, 0, 1));
        var coverage = Average(F.pad(ones, TorchPads(g.Begin, g.End), PaddingModes.Constant, 0.0), kernel, g.Strides, zeros, ceil, true);
        return sums.div(coverage);
    }

    private static Tensor Average(Tensor x, long[] kernel, long[] strides, long[] padding, bool ceil, bool countPads) => kernel.Length switch
    {
        1 => F.avg_pool2d(Lift(x), Lift(kernel, 1), Lift(strides, 1), Lift(padding, 0), ceil, countPads).squeeze(2),
        2 => F.avg_pool2d(x, kernel, strides, padding, ceil, countPads),
        _ => F.avg_pool3d(x, kernel, strides, padding, ceil, countPads),
    };

    // ---- linear algebra and shapes -----------------------------------------------------------

    private static Tensor Gemm(OnnxNodeCall c)
    {
        var a = c.Input(0);
        var b = c.Input(1);
        if (a.dim() != 2 || b.dim() != 2) throw c.Fail($"multiplies [{string.Join(", ", a.shape)}] by [{string.Join(", ", b.shape)}]; Gemm takes matrices");
        if (c.Int("transA", 0) != 0) a = a.t();
        if (c.Int("transB", 0) != 0) b = b.t();
        CheckSize(c, new[] { a.shape[0], b.shape[1] });
        float alpha = c.Float("alpha", 1f);
        float beta = c.Float("beta", 1f);
        var bias = c.Optional(2);
        if (bias is not null) return addmm(bias, a, b, beta, alpha);
        var product = a.mm(b);
        if (alpha == 1f) return product;
        using var scale = ((double)alpha).ToScalar();
        return product.mul(scale);
    }

    private static Tensor Flatten(OnnxNodeCall c)
    {
        var x = c.Input(0);
        long rank = x.dim();
        long axis = c.Int("axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis > rank) throw c.Fail($"has axis {c.Int("axis", 1)} for a rank-{rank} input");
        long outer = x.shape.Take((int)axis).Aggregate(1L, (p, d) => p * d);
        long inner = x.shape.Skip((int)axis).Aggregate(1L, (p, d) => p * d);
        return x.reshape(outer, inner);
    }

    private static Tensor Reshape(OnnxNodeCall c)
    {
        var x = c.Input(0);
        var target = c.Opset < 5 ? c.Ints("shape") : c.Integers(1);
        if (target is null) throw c.Fail("has no target shape");
        bool allowZero = c.Int("allowzero", 0) != 0;
        return x.reshape(ResolveShape(c, x.shape, target, allowZero));
    }

    /// <summary>ONNX's Reshape target with 0 (copy) and -1 (infer) resolved, checked in 64-bit arithmetic against the input's size.</summary>
    internal static long[] ResolveShape(OnnxNodeCall c, long[] input, long[] target, bool allowZero)
    {
        long count = input.Aggregate(1L, (p, d) => p * d);
        var shape = new long[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= input.Length) throw c.Fail($"copies axis {i} (a 0 in [{string.Join(", ", target)}]) of a rank-{input.Length} input");
                d = input[i];
            }
            if (d == -1)
            {
                if (inferred >= 0) throw c.Fail($"has more than one -1 in its target shape [{string.Join(", ", target)}]");
                inferred = i;
                continue;
            }
            if (d < 0) throw c.Fail($"has {d} in its target shape [{string.Join(", ", target)}]");
            if (d > 0 && known > long.MaxValue / d) throw c.Fail($"has a target shape [{string.Join(", ", target)}] whose size overflows");
            known *= d;
            shape[i] = d;
        }
        if (inferred >= 0)
        {
            if (known == 0 || count % known != 0)
                throw c.Fail($"cannot reshape [{string.Join(", ", input)}] ({count} values) to [{string.Join(", ", target)}]");
            shape[inferred] = count / known;
        }
        else if (known != count)
        {
            throw c.Fail($"cannot reshape [{string.Join(", ", input)}] ({count} values) to [{string.Join(", ", target)}] ({known} values)");
        }
        return shape;
    }

    private static Tensor Transpose(OnnxNodeCall c)
    {
        var x = c.Input(0);
        int rank = (int)x.dim();
        var perm = c.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != rank || perm.OrderBy(p => p).Where((p, i) => p != i).Any())
            throw c.Fail($"has perm [{string.Join(", ", perm)}], not a permutation of a rank-{rank} input's axes");
        return x.permute(perm);
    }

    private static Tensor Concat(OnnxNodeCall c)
    {
        var parts = c.Inputs.Where(t => t is not null).Select(t => t!).ToArray();
        if (parts.Length == 0) throw c.Fail("has no inputs");
        if (!c.Has("axis")) throw c.Fail("has no axis");
        long axis = Axis(c, c.Int("axis", 0), parts[0].dim());
        var shape = parts[0].shape.ToArray();
        shape[axis] = parts.Aggregate(0L, (sum, p) => checked(sum + (p.dim() > axis ? p.shape[axis] : 0)));
        CheckSize(c, shape);
        return cat(parts, axis);
    }

    private static Tensor?[] Split(OnnxNodeCall c)
    {
        var x = c.Input(0);
        long axis = Axis(c, c.Int("axis", 0), x.dim());
        long size = x.shape[axis];
        int outputs = c.Node.Outputs.Count;
        long[]? sizes = c.Opset < 13 ? c.Ints("split") : c.Integers(1);
        if (sizes is null)
        {
            long parts = c.Opset >= 18 && c.Has("num_outputs") ? c.Int("num_outputs", outputs) : outputs;
            if (parts < 1) throw c.Fail($"splits into {parts} parts");
            long chunk = (size + parts - 1) / parts;
            if (c.Opset < 18 && size % parts != 0) throw c.Fail($"splits an axis of {size} into {parts} equal parts");
            sizes = Enumerable.Range(0, (int)parts).Select(i => Math.Max(0, Math.Min(chunk, size - i * chunk))).ToArray();
        }
        if (sizes.Length != outputs) throw c.Fail($"has {sizes.Length} split sizes for {outputs} outputs");
        if (sizes.Any(s => s < 0) || sizes.Sum() != size)
            throw c.Fail($"splits an axis of {size} into [{string.Join(", ", sizes)}]");
        return x.split(sizes, axis).Select(t => (Tensor?)t).ToArray();
    }

    private static Tensor Squeeze(OnnxNodeCall c)
    {
        var x = c.Input(0);
        long rank = x.dim();
        var axes = c.Opset < 13 ? c.Ints("axes") : c.Integers(1);
        var shape = x.shape;
        HashSet<long> drop;
        if (axes is null || axes.Length == 0)
        {
            drop = Enumerable.Range(0, (int)rank).Where(i => shape[i] == 1).Select(i => (long)i).ToHashSet();
        }
        else
        {
            drop = axes.Select(a => Axis(c, a, rank)).ToHashSet();
            foreach (long a in drop)
                if (shape[a] != 1) throw c.Fail($"squeezes axis {a} of size {shape[a]}");
        }
        return x.reshape(Enumerable.Range(0, (int)rank).Where(i => !drop.Contains(i)).Select(i => shape[i]).ToArray());
    }

    private static Tensor Unsqueeze(OnnxNodeCall c)
    {
        var x = c.Input(0);
        var axes = c.Opset < 13 ? c.Ints("axes") : c.Integers(1);
        if (axes is null || axes.Length == 0) throw c.Fail("has no axes");
        long rank = x.dim() + axes.Length;
        var normalized = axes.Select(a => Axis(c, a, rank)).OrderBy(a => a).ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw c.Fail($"repeats an axis in [{string.Join(", ", axes)}]");
        var shape = new List<long>(x.shape);
        foreach (long a in normalized) shape.Insert((int)a, 1);
        return x.reshape(shape.ToArray());
    }

    private static Tensor Pad(OnnxNodeCall c)
    {
        var x = c.Input(0);
        int rank = (int)x.dim();
        long[]? pads;
        double value;
        if (c.Opset < 11)
        {
            pads = c.Ints(c.Opset < 2 ? "paddings" : "pads");
            value = c.Float("value", 0f);
        }
        else
        {
            pads = c.Integers(1);
            var constant = c.Optional(2);
            value = constant is null ? 0.0 : FirstValue(constant);
        }
        if (pads is null) throw c.Fail("has no pads");
        var axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        if (c.Opset >= 18 && c.Integers(3) is { } given) axes = given.Select(a => Axis(c, a, rank)).ToArray();
        if (pads.Length != 2 * axes.Length) throw c.Fail($"has {pads.Length} pads for {axes.Length} axes");
        var begin = new long[rank];
        var end = new long[rank];
        for (int i = 0; i < axes.Length; i++)
        {
            begin[axes[i]] = pads[i];
            end[axes[i]] = pads[axes.Length + i];
        }
        var shape = x.shape.ToArray();
        for (int i = 0; i < rank; i++) shape[i] = checked(shape[i] + begin[i] + end[i]);
        CheckSize(c, shape);
        string mode = c.String("mode", "constant");
        var torchMode = mode switch
        {
            "constant" => PaddingModes.Constant,
            "reflect" => PaddingModes.Reflect,
            "edge" => PaddingModes.Replicate,
            _ => throw c.Fail($"has mode '{mode}' (constant, reflect or edge)"),
        };
        // torch's list runs from the last axis; leading axes without padding are left out (reflect and
        // edge pad at most the last three axes).
        int first = 0;
        while (first < rank && begin[first] == 0 && end[first] == 0) first++;
        if (first == rank) return x.alias();
        if (torchMode != PaddingModes.Constant && (rank - first > 3 || begin.Concat(end).Any(p => p < 0)))
            throw c.Fail($"pads axes [{string.Join(", ", Enumerable.Range(first, rank - first))}] of a rank-{rank} input in {mode} mode; this module pads at most three axes, by positive amounts, in that mode");
        var list = TorchPads(begin.Skip(first).ToArray(), end.Skip(first).ToArray());
        if (torchMode == PaddingModes.Constant) return F.pad(x, list, torchMode, value);
        // libtorch's reflect and replicate modes want a batch and a channel axis before the padded ones.
        int lead = rank - (list.Length / 2);
        var view = lead >= 2 ? x : x.reshape(Enumerable.Repeat(1L, 2 - lead).Concat(x.shape).ToArray());
        var padded = F.pad(view, list, torchMode, value);
        return lead >= 2 ? padded : padded.reshape(shape);
    }

    private static Tensor Softmax(OnnxNodeCall c, bool log)
    {
        var x = c.Input(0);
        long rank = x.dim();
        if (c.Opset < 13)
        {
            // Before opset 13 the input is viewed as a matrix [prod(shape[:axis]), prod(shape[axis:])].
            long axis = c.Int("axis", 1);
            if (axis < 0) axis += rank;
            if (axis < 0 || axis > rank) throw c.Fail($"has axis {c.Int("axis", 1)} for a rank-{rank} input");
            long outer = x.shape.Take((int)axis).Aggregate(1L, (p, d) => p * d);
            var matrix = x.reshape(outer, -1);
            var result = log ? matrix.log_softmax(1) : matrix.softmax(1);
            return result.reshape(x.shape);
        }
        long dim = Axis(c, c.Int("axis", -1), rank);
        return log ? x.log_softmax(dim) : x.softmax(dim);
    }

    private static Tensor?[] Dropout(OnnxNodeCall c)
    {
        var x = c.Input(0);
        if (c.Optional(2) is { } training && FirstValue(training) != 0)
            throw c.Fail("runs in training mode; export the model for inference (model.eval())");
        var outputs = new Tensor?[c.Node.Outputs.Count];
        outputs[0] = x.alias();
        if (c.Wants(1)) outputs[1] = ones_like(x, ScalarType.Bool);
        return outputs;
    }

    private static Tensor Shape(OnnxNodeCall c)
    {
        var shape = c.Input(0).shape;
        long rank = shape.Length;
        long start = c.Int("start", 0), end = c.Int("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, start, rank);
        var values = shape.Skip((int)start).Take((int)(end - start)).ToArray();
        return tensor(values, new long[] { values.Length }, ScalarType.Int64, c.Input(0).device);
    }

    private static Tensor Gather(OnnxNodeCall c)
    {
        var data = c.Input(0);
        var indices = c.Input(1);
        if (indices.dtype != ScalarType.Int64 && indices.dtype != ScalarType.Int32) throw c.Fail($"has {indices.dtype} indices");
        long axis = Axis(c, c.Int("axis", 0), data.dim());
        long size = data.shape[axis];
        var flat = indices.to_type(ScalarType.Int64).flatten();
        var host = flat.cpu().data<long>().ToArray();
        if (host.Any(i => i < -size || i >= size)) throw c.Fail($"gathers indices [{string.Join(", ", host.Take(8))}] from an axis of {size}");
        var shape = data.shape.Take((int)axis).Concat(indices.shape).Concat(data.shape.Skip((int)axis + 1)).ToArray();
        CheckSize(c, shape);
        var wrapped = tensor(host.Select(i => i < 0 ? i + size : i).ToArray(), new long[] { host.Length }, ScalarType.Int64, data.device);
        var picked = data.index_select(axis, wrapped);
        return picked.reshape(shape);
    }

    private static Tensor Cast(OnnxNodeCall c)
    {
        long to = c.Int("to", 0);
        return to switch
        {
            OnnxDataType.Float => c.Input(0).to_type(ScalarType.Float32),
            OnnxDataType.Int64 => c.Input(0).to_type(ScalarType.Int64),
            _ => throw c.Fail($"casts to {OnnxDataType.Name((int)to)}; this module computes in float32 and int64"),
        };
    }

    private static Tensor ReduceMean(OnnxNodeCall c)
    {
        var x = c.Input(0);
        long rank = x.dim();
        var axes = c.Opset < 18 ? c.Ints("axes") : c.Integers(1);
        bool keep = c.Int("keepdims", 1) != 0;
        if (axes is null || axes.Length == 0)
        {
            if (c.Opset >= 18 && c.Int("noop_with_empty_axes", 0) != 0) return x.alias();
            axes = Enumerable.Range(0, (int)rank).Select(i => (long)i).ToArray();
        }
        return x.mean(axes.Select(a => Axis(c, a, rank)).Distinct().ToArray(), keep);
    }
}

internal static class ScalarTypeExtensions
{
    public static bool IsIntegral(this ScalarType type) =>
        type is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;
}
