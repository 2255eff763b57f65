using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring;

/// <summary>The scores of one batch: FSSD per input and tap, and the unperturbed prediction.</summary>
public sealed class BatchScores
{
    public BatchScores(double[,] tapScores, int[] predicted, double[] confidence)
    {
        TapScores = tapScores;
        Predicted = predicted;
        Confidence = confidence;
    }

    /// <summary>[input, tap] — FSSD of each input at each requested tap.</summary>
    public double[,] TapScores { get; }
    /// <summary>The predicted class of each input; empty when the model has no classifier.</summary>
    public int[] Predicted { get; }

    /// <summary>The largest softmax probability of each input; empty when the model has no classifier.</summary>
    public double[] Confidence { get; }
}

/// <summary>
/// FSSD(x) = ‖F(x̃) − F*‖₂ per tap (the paper's Eq. 2 on the flattened or pooled tap), where x̃ is x
/// itself for ε = 0, or x perturbed along the FSSD gradient of that same tap (Algorithm 1; each tap
/// its own perturbation), or — the shared step — along the gradient of the taps' weighted sum, one
/// step for all taps. The model's parameters do not require gradients (the loader freezes them), so
/// the backward pass computes the input gradient only.
/// </summary>
public sealed class FssdScorer : IDisposable
{
    private readonly LoadedModel _model;
    private readonly LoadedModel _compute;
    private readonly Tensor[] _centers;
    private readonly Tensor?[] _shapedCenters;
    private readonly Tensor?[] _channelsLastCenters;
    private readonly int[] _taps;
    private readonly IDisposable _use;

    /// <param name="taps">Indices into the model's taps to score, in output order.</param>
    /// <param name="precision">
    /// The number format of the forward passes that give the scores. With BFloat16 they run a copy of the
    /// network whose convolutions compute in bfloat16 (<see cref="LoadedModel.InPrecision"/>), taps read back
    /// as float32; inputs, centers, distances and the step's direction (from float32 gradient passes) stay
    /// float32. A network that cannot be converted computes in float32 (<see cref="Precision"/> says which was used).
    /// </param>
    public FssdScorer(LoadedModel model, FssCenter center, IReadOnlyList<int> taps, FssdPrecision precision = FssdPrecision.Float32)
    {
        if (!string.IsNullOrEmpty(center.ModelSha256) && center.ModelSha256 != model.Info.Sha256)
            throw new FssdModelException(
                $"The center was made with the model whose weights hash to {center.ModelSha256[..12]}…, not '{model.Info.Name}' ({model.Info.Sha256[..12]}…).");
        _model = model;
        _taps = taps.ToArray();
        // Only the taps scored need a center.
        _centers = new Tensor[model.Taps.Count];
        _shapedCenters = new Tensor?[model.Taps.Count];
        _channelsLastCenters = new Tensor?[model.Taps.Count];
        foreach (int k in _taps)
        {
            var t = model.Taps[k];
            var c = center.Taps.FirstOrDefault(ct => ct.Name.Equals(t.Name, StringComparison.OrdinalIgnoreCase))
                ?? throw new FssdModelException($"The center has no tap '{t.Name}'; it has {string.Join(", ", center.Taps.Select(x => x.Name))}.");
            var v = tensor(c.Vector, device: model.Device);
            v.DetachFromDisposeScope();
            _centers[k] = v;
        }
        // Held until Dispose: removing the model from the session meanwhile frees it only after this scorer.
        _use = model.Use();
        try
        {
            _compute = model.InPrecision(precision) ?? model;
        }
        catch
        {
            Dispose();
            throw;
        }
        Precision = ReferenceEquals(_compute, model) ? FssdPrecision.Float32 : precision;
    }

    public IReadOnlyList<int> Taps => _taps;

    /// <summary>The number format the network's passes compute in.</summary>
    public FssdPrecision Precision { get; }

    /// <summary>A tap, gradient or logits of the compute network as float32.</summary>
    private static Tensor ToFloat(Tensor t) => t.dtype == ScalarType.Float32 || t.dtype == ScalarType.Float64 ? t : t.to_type(ScalarType.Float32);

    /// <summary>Frees the centers' native tensors and lets go of the model.</summary>
    public void Dispose()
    {
        foreach (var c in _shapedCenters) c?.Dispose();
        foreach (var c in _channelsLastCenters) c?.Dispose();
        foreach (var c in _centers) c?.Dispose();
        _use.Dispose();
    }

    /// <summary>
    /// Scores one normalized batch [B, C, H, W] already on the model's device. With
    /// <paramref name="stepWeights"/> (one per scored tap) and ε ≠ 0 every tap reads one shared step: the
    /// gradient of Σ_j w_j·FSSD_j, one forward, one backward and one forward for all taps; without, each
    /// tap its own step (the authors' way: a forward, a backward and a forward per tap).
    /// </summary>
    public BatchScores Score(Tensor input, double epsilon, PerturbationMode mode, IReadOnlyList<double>? stepWeights = null)
    {
        var (scores, predicted, confidence) = Run(input, new[] { epsilon }, mode, stepWeights);
        return new BatchScores(scores[0], predicted, confidence);
    }

    /// <summary>
    /// Scores one batch at every ε of a grid: the FSSD gradient does not depend on ε, so each tap
    /// needs one backward pass and then one forward pass per ε. Returns [ε][input, tap].
    /// </summary>
    public double[][,] ScoreGrid(Tensor input, IReadOnlyList<double> epsilons, PerturbationMode mode, IReadOnlyList<double>? stepWeights = null) =>
        Run(input, epsilons, mode, stepWeights).Scores;

    /// <summary>
    /// The one scoring path: the step directions once (only where some ε ≠ 0: a forward pass whose graph
    /// serves every tap's backward pass, or one backward pass for the shared step), then per ε a forward
    /// pass — one for every tap when nothing is stepped or the step is shared, else one per tap on its own
    /// stepped input, stopping at that tap. Predictions come from the first forward pass.
    /// </summary>
    private (double[][,] Scores, int[] Predicted, double[] Confidence) Run(Tensor input, IReadOnlyList<double> epsilons, PerturbationMode mode,
        IReadOnlyList<double>? stepWeights)
    {
        int b = (int)input.shape[0];
        var result = epsilons.Select(_ => new double[b, _taps.Length]).ToArray();
        int[]? predicted = null;
        double[]? confidence = null;
        using var scope = NewDisposeScope();
        Tensor? shared = null;
        Tensor[]? perTap = null;
        if (epsilons.Any(e => e != 0))
        {
            using var std = ScoringTensors.ChannelStd(_model, input.device);
            using (enable_grad())
            {
                // The step's direction always comes from float32 passes: in bfloat16, the sign of the small
                // gradient components flips, and that moved the logits tap's AUROC by half a point (docs/speed.md).
                using var pass = _model.ForwardForGradients(input);
                (predicted, confidence) = Predict(pass.Output.Logits.detach());
                if (stepWeights is not null) shared = Direction(SharedGradient(pass, stepWeights), mode, std);
                else perTap = TapGradients(pass).Select(g => Direction(g, mode, std)).ToArray();
            }
        }
        using (no_grad())
        {
            for (int e = 0; e < epsilons.Count; e++)
            {
                using var pass = NewDisposeScope();
                using var step = epsilons[e].ToScalar();
                if (epsilons[e] == 0 || shared is not null)
                {
                    using var output = _compute.ForwardRaw(epsilons[e] == 0 ? input : input.add(shared!.mul(step), HeldScalars.One));
                    if (predicted is null) (predicted, confidence) = Predict(output.Logits);
                    for (int j = 0; j < _taps.Length; j++) ScoringTensors.CopyColumn(Distance(output.Features[_taps[j]], _taps[j]), result[e], j);
                    continue;
                }
                for (int j = 0; j < _taps.Length; j++)
                {
                    using var tap = NewDisposeScope();
                    var after = _compute.ForwardTapRaw(input.add(perTap![j].mul(step), HeldScalars.One), _taps[j]);
                    ScoringTensors.CopyColumn(Distance(after, _taps[j]), result[e], j);
                }
            }
        }
        return (result, predicted!, confidence!);
    }

    /// <summary>Scores decoded inputs (channels first, at the model's size, 0..255).</summary>
    public BatchScores ScoreBytes(IReadOnlyList<byte[]> samples, double epsilon, PerturbationMode mode, IReadOnlyList<double>? stepWeights = null)
    {
        using var scope = NewDisposeScope();
        return Score(ToInput(samples), epsilon, mode, stepWeights);
    }

    /// <summary>The first tap's FSSD of every input, in batches of <paramref name="batch"/>.</summary>
    public double[] ScoreFirstTap(IReadOnlyList<byte[]> samples, double epsilon, PerturbationMode mode, int batch,
        System.Threading.CancellationToken cancellation)
    {
        var scores = new double[samples.Count];
        for (int start = 0; start < samples.Count; start += batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var part = samples.Skip(start).Take(batch).ToList();
            var result = ScoreBytes(part, epsilon, mode);
            for (int i = 0; i < part.Count; i++) scores[start + i] = result.TapScores[i, 0];
        }
        return scores;
    }

    /// <summary>Decoded inputs (channels first, 0..255) as the normalized batch on the model's device.</summary>
    public Tensor ToInput(IReadOnlyList<byte[]> samples) => Data.ImageTensors.FromSamples(samples, _model.Info.InputSpec, _model.Device);

    /// <summary>The tap indices of names, in the order given; an unknown name is an error listing the taps.</summary>
    public static int[] TapIndices(LoadedModel model, IEnumerable<string> names) => names.Select(model.TapIndex).ToArray();

    /// <summary>
    /// The unit step in the normalized input space, x̃ = x + ε·direction: sign(∇) (the paper's formula) or
    /// −(∇ − mean ∇) / std ∇ (the authors' code), divided by the channel std so that ε is in pixel units.
    /// </summary>
    private static Tensor Direction(Tensor gradient, PerturbationMode mode, Tensor std) =>
        mode == PerturbationMode.Sign ? gradient.sign().div(std) : Standardize(gradient).div(std).neg();

    /// <summary>∇ₓ Σ_batch FSSD_j(x) for each scored tap j, from one forward pass (its graph kept until the last tap).</summary>
    private Tensor[] TapGradients(InputGradientPass pass) =>
        pass.Gradients(_taps.Select(t => Distance(pass.Output.Features[t], t).sum()).ToArray());

    /// <summary>∇ₓ Σ_j w_j Σ_batch FSSD_j(x): one backward pass for every scored tap.</summary>
    private Tensor SharedGradient(InputGradientPass pass, IReadOnlyList<double> stepWeights)
    {
        if (stepWeights.Count != _taps.Length)
            throw new ArgumentException($"A shared step needs one weight per scored tap ({_taps.Length}); {stepWeights.Count} were given.", nameof(stepWeights));
        Tensor? objective = null;
        for (int j = 0; j < _taps.Length; j++)
        {
            if (stepWeights[j] == 0) continue;
            using var weight = stepWeights[j].ToScalar();
            var term = Distance(pass.Output.Features[_taps[j]], _taps[j]).sum().mul(weight);
            objective = objective is null ? term : objective.add(term, HeldScalars.One);
        }
        objective ??= zeros(Array.Empty<long>());
        return pass.Gradients(new[] { objective })[0];
    }

    /// <summary>(g − mean g) / std g over the whole batch, as the authors' code does.</summary>
    private static Tensor Standardize(Tensor gradient) => gradient.sub(gradient.mean()).div(gradient.std());

    /// <summary>
    /// ‖F(x) − F*‖₂ per input, from the tap's raw output. A flattened tap is compared in its own shape
    /// (F* as [C, H, W], in the map's own memory layout), so a feature map held channels-last is read in
    /// place, and neither it nor its gradient is copied into another order (a mismatched layout costs
    /// more than half again); other reductions reduce first.
    /// </summary>
    private Tensor Distance(Tensor raw, int tap)
    {
        raw = ToFloat(raw);
        var definition = _model.Taps[tap];
        if (definition.Reduction != TapReduction.Flatten || raw.dim() <= 2)
            return definition.Reduce(raw).sub(_centers[tap]).norm(1);
        bool channelsLast = MemoryLayout.IsChannelsLast(raw);
        var cache = channelsLast ? _channelsLastCenters : _shapedCenters;
        var shaped = Volatile.Read(ref cache[tap]);
        if (shaped is null)
        {
            // Several scoring threads may share this scorer: one copy is kept, the others let go.
            var made = ShapedCenter(tap, raw.shape[1..], channelsLast);
            shaped = Interlocked.CompareExchange(ref cache[tap], made, null) ?? made;
            if (!ReferenceEquals(shaped, made)) made.Dispose();
        }
        // √Σ(F − F*)² over the map, in its own layout, summed in double precision as libtorch's norm does on
        // the CPU. Not linalg.vector_norm: TorchSharp hands libtorch a Scalar for its ord that nothing holds,
        // which the collector can free during the call.
        var difference = raw.sub(shaped);
        return difference.mul(difference).sum(Enumerable.Range(1, (int)raw.dim() - 1).Select(d => (long)d).ToArray(), type: ScalarType.Float64).sqrt();
    }

    /// <summary>The tap's center as [C, H, W] (a view), or as [1, C, H, W] channels-last (a copy).</summary>
    private Tensor ShapedCenter(int tap, long[] mapShape, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        var view = _centers[tap].view(mapShape);
        var shaped = channelsLast ? MemoryLayout.ToChannelsLast(view.unsqueeze(0)) : view;
        return shaped.MoveToOuterDisposeScope().DetachFromDisposeScope();
    }

    private (int[] Predicted, double[] Confidence) Predict(Tensor logits)
    {
        // A feature extractor has no classes to predict; its scores stand alone.
        if (!_model.Info.HasClassifier) return (Array.Empty<int>(), Array.Empty<double>());
        using var probabilities = ToFloat(logits).softmax(1);
        var (values, indices) = probabilities.max(1);
        using (values)
        using (indices)
        {
            return (indices.cpu().data<long>().Select(i => (int)i).ToArray(),
                values.to_type(ScalarType.Float64).cpu().data<double>().ToArray());
        }
    }

    /// <summary>The tap FSSD scores by default: "penultimate" where the model has it, else the last tap before the logits.</summary>
    public static int DefaultTap(LoadedModel model)
    {
        for (int i = 0; i < model.Taps.Count; i++)
            if (model.Taps[i].Name.Equals("penultimate", StringComparison.OrdinalIgnoreCase)) return i;
        var notLogits = Enumerable.Range(0, model.Taps.Count).Where(i => !model.Taps[i].Name.Equals("logits", StringComparison.OrdinalIgnoreCase)).ToList();
        return notLogits.Count > 0 ? notLogits[^1] : 0;
    }
}
