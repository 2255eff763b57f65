using System;
using System.Collections.Generic;
using System.Linq;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Scoring.Baselines;

/// <summary>
/// Scores a normalized batch with one baseline. Hyper-parameters are fixed at construction; the
/// calibrator chooses them. Scores are larger for inputs that look in-distribution. For Mahalanobis
/// the scorer returns one column per tap (the regression combines them); for every other method one column.
/// </summary>
public sealed class BaselineScorer : IDisposable
{
    private readonly DetectorMethod _method;
    private readonly IReadOnlyList<LoadedModel> _models;
    private readonly IReadOnlyList<(int Tap, ClassGaussians Gaussians)> _gaussians;

    public BaselineScorer(DetectorMethod method, IReadOnlyList<LoadedModel> models, IReadOnlyList<(int Tap, ClassGaussians Gaussians)>? gaussians = null)
    {
        if (models.Count == 0) throw new ArgumentException("A baseline needs a model.", nameof(models));
        foreach (var m in models) m.RequireClassifier($"the {method} baseline, which reads class scores");
        if (method != DetectorMethod.DeepEnsemble && models.Count != 1)
            throw new ArgumentException($"{method} scores with one model; {models.Count} were given.", nameof(models));
        if (method == DetectorMethod.Mahalanobis && (gaussians is null || gaussians.Count == 0))
            throw new ArgumentException("Mahalanobis needs class Gaussians fitted on training features.", nameof(gaussians));
        _method = method;
        _models = models;
        _gaussians = gaussians ?? Array.Empty<(int, ClassGaussians)>();
    }

    public DetectorMethod Method => _method;

    /// <summary>The scorer of a calibrated baseline detector: its method, with Mahalanobis's Gaussians rebuilt from the detector's data.</summary>
    public static BaselineScorer For(FssdDetector detector, IReadOnlyList<LoadedModel> models)
    {
        if (detector.Method == DetectorMethod.FSSD) throw new ArgumentException("An FSSD detector is scored by FSSD's scorer.", nameof(detector));
        if (detector.Method != DetectorMethod.Mahalanobis) return new BaselineScorer(detector.Method, models);
        var model = models[0];
        var gaussians = detector.Gaussians.Select(g => (model.TapIndex(g.Tap), ClassGaussians.FromData(g, model.Device))).ToList();
        return new BaselineScorer(detector.Method, models, gaussians);
    }

    /// <summary>Frees the class Gaussians' tensors.</summary>
    public void Dispose()
    {
        foreach (var (_, g) in _gaussians) g.Dispose();
    }

    /// <summary>How many score columns <see cref="Score"/> returns.</summary>
    public int Columns => _method == DetectorMethod.Mahalanobis ? _gaussians.Count : 1;

    /// <summary>
    /// Scores a batch [B, C, H, W] on the models' device at every ε of <paramref name="epsilons"/> (ODIN and
    /// Mahalanobis; the other methods take ε = 0 only): [ε][input, column]. <paramref name="temperature"/> is
    /// ODIN's and Energy's T; <paramref name="passes"/> and <paramref name="statistic"/> are MC Dropout's;
    /// <paramref name="seed"/> seeds MC Dropout's masks.
    /// </summary>
    public double[][,] Score(Tensor input, IReadOnlyList<double> epsilons, double temperature = 1.0, int passes = 32,
        MonteCarloStatistic statistic = MonteCarloStatistic.Mean, long seed = 0)
    {
        if (epsilons.Count == 0) throw new ArgumentException("No ε to score at.", nameof(epsilons));
        if (_method is not (DetectorMethod.ODIN or DetectorMethod.Mahalanobis) && epsilons.Any(e => e != 0))
            throw new ArgumentException($"{_method} has no input perturbation; score it at ε = 0.", nameof(epsilons));
        int b = (int)input.shape[0];
        var result = epsilons.Select(_ => new double[b, Columns]).ToArray();
        using var scope = NewDisposeScope();
        switch (_method)
        {
            case DetectorMethod.Base:
            case DetectorMethod.OutlierExposure:
                using (no_grad()) ScoringTensors.CopyColumn(BaselineMath.MaxSoftmax(Logits(_models[0], input)), result[0], 0);
                break;
            case DetectorMethod.Energy:
                using (no_grad()) ScoringTensors.CopyColumn(BaselineMath.NegativeEnergy(Logits(_models[0], input), temperature), result[0], 0);
                break;
            case DetectorMethod.DeepEnsemble:
                using (no_grad())
                {
                    var mean = MeanSoftmax(input);
                    var (top, _) = mean.max(1);
                    ScoringTensors.CopyColumn(top, result[0], 0);
                }
                break;
            case DetectorMethod.MCDropout:
                ScoringTensors.CopyColumn(MonteCarlo(input, passes, statistic, seed), result[0], 0);
                break;
            case DetectorMethod.ODIN:
                Odin(input, epsilons, temperature, result);
                break;
            case DetectorMethod.Mahalanobis:
                Mahalanobis(input, epsilons, result);
                break;
        }
        return result;
    }

    private void Odin(Tensor input, IReadOnlyList<double> epsilons, double temperature, double[][,] result)
    {
        var model = _models[0];
        using var t = temperature.ToScalar();
        // The step that raises the log-probability of the predicted class: x~ = x − ε·sign(−∇ log S_ŷ(x; T)).
        StepAndScore(input, epsilons, result, 0,
            x =>
            {
                var (top, _) = Logits(model, x).div(t).log_softmax(1).max(1);
                return top;
            },
            x => BaselineMath.MaxSoftmax(Logits(model, x), temperature));
    }

    private void Mahalanobis(Tensor input, IReadOnlyList<double> epsilons, double[][,] result)
    {
        var model = _models[0];
        for (int j = 0; j < _gaussians.Count; j++)
        {
            var (tap, gaussians) = _gaussians[j];
            // The step that brings the input closer to its nearest class Gaussian (Lee et al.'s input pre-processing).
            StepAndScore(input, epsilons, result, j, x => gaussians.Score(TapFeatures(model, x, tap)), x => gaussians.Score(TapFeatures(model, x, tap)));
        }
    }

    /// <summary>
    /// The input step both ODIN and Mahalanobis take: x̃ = x + ε·sign(∇ₓ Σ objective(x)) / std (ε in pixel
    /// units), then <paramref name="score"/> of x̃ at every ε into column <paramref name="column"/>.
    /// </summary>
    private void StepAndScore(Tensor input, IReadOnlyList<double> epsilons, double[][,] result, int column, Func<Tensor, Tensor> objective, Func<Tensor, Tensor> score)
    {
        using var inner = NewDisposeScope();
        using var std = ScoringTensors.ChannelStd(_models[0], input.device);
        Tensor direction;
        using (enable_grad())
        {
            var x = input.detach().requires_grad_(true);
            direction = InputGradient(objective(x).sum(), x).sign().div(std);
        }
        using (no_grad())
        {
            for (int e = 0; e < epsilons.Count; e++)
            {
                using var step = NewDisposeScope();
                using var epsilon = epsilons[e].ToScalar();
                var perturbed = epsilons[e] == 0 ? input : input.add(direction.mul(epsilon), HeldScalars.One);
                ScoringTensors.CopyColumn(score(perturbed), result[e], column);
            }
        }
    }

    /// <summary>
    /// ∇ₓ objective; zero where the objective does not depend on the input (a network that ignores it):
    /// libtorch's grad would throw there, and that exception does not cross TorchSharp's native boundary.
    /// </summary>
    private static Tensor InputGradient(Tensor objective, Tensor x) =>
        objective.requires_grad ? autograd.grad(new[] { objective }, new[] { x })[0] : zeros_like(x);

    private Tensor MonteCarlo(Tensor input, int passes, MonteCarloStatistic statistic, long seed)
    {
        if (passes < 2) throw new ArgumentOutOfRangeException(nameof(passes), passes, "MC Dropout needs at least two passes.");
        var model = _models[0];
        var module = model.Network.Module;
        // Dropout on, everything else as in evaluation; the model is shared, so the mode is restored at once.
        lock (module)
        {
            using var noGrad = no_grad();
            random.manual_seed(seed);
            module.train();
            try
            {
                var passProbabilities = new Tensor[passes];
                for (int t = 0; t < passes; t++)
                {
                    using var pass = NewDisposeScope();
                    passProbabilities[t] = Logits(model, input).softmax(1).MoveToOuterDisposeScope();
                }
                var probabilities = stack(passProbabilities);
                var (mean, negativeVariance) = BaselineMath.MonteCarlo(probabilities);
                return statistic == MonteCarloStatistic.Mean ? mean : negativeVariance;
            }
            finally
            {
                module.eval();
            }
        }
    }

    /// <summary>The models' mean softmax [B, K] (one model's softmax for one).</summary>
    private Tensor MeanSoftmax(Tensor input)
    {
        Tensor sum = Logits(_models[0], input).softmax(1);
        for (int m = 1; m < _models.Count; m++) sum = sum.add(Logits(_models[m], input).softmax(1), HeldScalars.One);
        using var count = ((double)_models.Count).ToScalar();
        return sum.div(count);
    }

    /// <summary>The predicted class and its softmax probability (the ensemble's mean softmax for several models).</summary>
    public (int[] Predicted, double[] Confidence) Predict(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var mean = MeanSoftmax(input);
        var (values, indices) = mean.max(1);
        return (indices.cpu().data<long>().Select(i => (int)i).ToArray(), values.to_type(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    /// <summary>A tap as Mahalanobis reads it: feature maps averaged over space [B, C], vectors as they are.</summary>
    internal static Tensor TapFeatures(LoadedModel model, Tensor input, int tap)
    {
        var outputs = model.Network.Forward(input);
        var raw = outputs[model.Taps[tap].OutputIndex];
        return raw.dim() > 2 ? raw.flatten(2).mean(new long[] { 2 }) : raw.flatten(1);
    }

    private static Tensor Logits(LoadedModel model, Tensor input) => model.Network.Forward(input)[0];
}
