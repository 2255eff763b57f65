using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Persistence;
using Fssd.Engine.Runtime;
using Fssd.Engine.Scoring;
using Fssd.Engine.Scoring.Baselines;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// Measure-Fssd: score every input file by its distance to the Feature Space Singularity, in input
/// order, decoding on worker threads while the model runs; a bad file is an error, never a stop.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "Fssd", DefaultParameterSetName = PathSet)]
[OutputType(typeof(FssdScore))]
public sealed class MeasureFssdCommand : FssdCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private const string SampleSet = "InputObject";

    private OrderedImageStream? _stream;
    private EnsembleScorer? _scorer;
    private LoadedModel? _model;
    private FssdDetector? _detector;
    private BaselineScorer? _baselineScorer;
    private long _batchIndex;
    private string[] _tapNames = Array.Empty<string>();
    private double _epsilon;
    private PerturbationMode _mode;
    private int _scored;
    private readonly Stopwatch _clock = new();
    private readonly Stopwatch _progress = new();
    private ScoringWorkers<List<DecodedInput>>? _workers;
    private long _modelTicks;
    private readonly Stopwatch _waitClock = new();
    private readonly Stopwatch _resultClock = new();
    private readonly Stopwatch _outputClock = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public FssdSample[] InputObject { get; set; } = Array.Empty<FssdSample>();

    [Parameter]
    [ValidateNotNull]
    public FssdBaseline? Baseline { get; set; }

    [Parameter]
    public FssdModel? Model { get; set; }

    [Parameter]
    public FssCenter? Center { get; set; }

    [Parameter]
    public FssdDetector? Detector { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Layer { get; set; }

    [Parameter]
    [ValidateRange(-10.0, 10.0)]
    public double Epsilon { get; set; }

    [Parameter]
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    [Parameter]
    [ValidateRange(1, 65536)]
    public int BatchSize { get; set; } = 128;

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Shard { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? ShardCount { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ShardRoot { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ResultPath { get; set; }

    [Parameter]
    public SwitchParameter RetryError { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private ResumableRun? _run;

    private bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);

    protected override void BeginProcessing()
    {
        try
        {
            var session = FssdSession.Current;
            if (Detector is not null && (Model is not null || Center is not null || Bound(nameof(Epsilon)) || Bound(nameof(Layer)) || Bound(nameof(Perturbation))))
                ThrowFssdError(new ArgumentException("A detector fixes the model, center, layers, ε and perturbation; give -Detector alone, or -Model with its options."),
                    "FssdDetectorExclusive", ErrorCategory.InvalidArgument, Detector);
            if (Baseline is not null && (Detector is not null || Model is not null || Center is not null || Bound(nameof(Epsilon)) || Bound(nameof(Layer)) || Bound(nameof(Perturbation))))
                ThrowFssdError(new ArgumentException("A baseline fixes the model and its settings; give -Baseline alone."),
                    "FssdBaselineExclusive", ErrorCategory.InvalidArgument, Baseline);
            IReadOnlyList<LoadedModel>? models = null;
            if (Baseline is not null)
            {
                var baselineModels = Baseline.Models.Select(session.Models.Get).ToList();
                _model = baselineModels[0];
                _baselineScorer = BaselineCalibrator.ScorerFor(Baseline, baselineModels);
                _tapNames = Baseline.Layers.Count > 0 ? Baseline.Layers.Select(l => l.Name).ToArray() : new[] { Baseline.Method };
                _stream = new OrderedImageStream(_model.Info.InputSpec, Math.Max(4 * BatchSize, 64), CancellationToken);
                // Baselines draw their Monte Carlo passes in batch order from one network: one worker.
                _workers = new ScoringWorkers<List<DecodedInput>>(1, session.Threads, CancellationToken);
                OpenRun();
                _clock.Start();
                _progress.Start();
                return;
            }
            if (Detector is null && Model is null)
            {
                // Neither: the module's default detector (default model, its noise F*, outlier-free FSSD-Ensem set on FashionMNIST).
                (_detector, models) = DetectorLoader.Load(DefaultDetector.Path, session.Models, session.Device);
                WriteVerbose($"Scoring with the default detector {_detector}.");
            }
            else if (Detector is not null)
            {
                _detector = Detector;
                models = Detector.Models.Select(session.Models.Get).ToList();
            }
            if (_detector is not null)
            {
                _model = models![0];
                _epsilon = _detector.Epsilon;
                _mode = _detector.Perturbation;
                _scorer = EnsembleScorer.ForDetector(_detector, models);
                var keys = _scorer.Keys.ToArray();
                _tapNames = keys;
            }
            else
            {
                _model = session.Models.Get(Model!);
                _epsilon = Epsilon;
                _mode = Perturbation;
                var center = Center ?? CenterEstimator.FromNoise(_model, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise);
                if (Center is null) WriteVerbose($"No -Center: using F* from {CenterEstimator.DefaultNoiseSamples} uniform-noise images (seed 0).");
                int[] taps = Layer is not null ? FssdScorer.TapIndices(_model, Layer)
                    : _epsilon == 0 ? Enumerable.Range(0, _model.Taps.Count).OrderBy(i => i == FssdScorer.DefaultTap(_model) ? 0 : 1).ThenBy(i => i).ToArray()
                    : new[] { FssdScorer.DefaultTap(_model) };
                _tapNames = taps.Select(i => _model.Taps[i].Name).ToArray();
                _scorer = new EnsembleScorer(new[] { (_model, center, taps) });
            }
            _stream = new OrderedImageStream(_model!.Info.InputSpec, Math.Max(4 * BatchSize, 64), CancellationToken);
            _workers = ScoringWorkers<List<DecodedInput>>.ForDevice(_model.Device, session.Threads, CancellationToken);
            WriteVerbose($"Scoring on {_workers.Workers} thread(s), batches of {BatchSize}.");
            OpenRun();
            _clock.Start();
            _progress.Start();
        }
        catch (FssdModelException e)
        {
            ThrowFssdError(e, "FssdModelUnavailable", ErrorCategory.ObjectNotFound, Detector ?? (object?)Model);
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdLayerUnknown", ErrorCategory.InvalidArgument, Layer);
        }
    }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralSet;
        try
        {
            if (ParameterSetName == SampleSet)
            {
                var spec = _model!.Info.InputSpec;
                foreach (var sample in InputObject)
                {
                    if (_run is not null && !_run.Admit(sample.Source)) continue;
                    _stream!.Add(InputResolver.Prepare(sample, spec));
                    if (_stream.Count >= 2 * BatchSize) Flush(BatchSize);
                }
                return;
            }
            foreach (var file in InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError))
            {
                if (_run is not null && !_run.Admit(file)) continue;
                _stream!.Add(file);
                if (_stream.Count >= 2 * BatchSize) Flush(BatchSize);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            while (_stream!.Count > 0) Flush(BatchSize);
            while (TakeResults(wait: true)) { }
            WriteProgress(new ProgressRecord(1, "Measure-Fssd", "Done") { RecordType = ProgressRecordType.Completed });
            var model = TimeSpan.FromTicks(Interlocked.Read(ref _modelTicks));
            var rest = _clock.Elapsed - _waitClock.Elapsed - _resultClock.Elapsed - _outputClock.Elapsed;
            WriteVerbose($"Scored {_scored} file(s) in {_clock.Elapsed.TotalSeconds:F1} s ({_scored / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3):F0}/s). " +
                $"The model: {model.TotalSeconds:F1} s over {_workers!.Workers} scoring thread(s). This thread: waiting for decoded files " +
                $"{_waitClock.Elapsed.TotalSeconds:F1} s, for the model {_resultClock.Elapsed.TotalSeconds:F1} s, writing results " +
                $"{_outputClock.Elapsed.TotalSeconds:F1} s, reading paths and the rest {rest.TotalSeconds:F1} s.");
            if (_run is not null) WriteVerbose(_run.Summary());
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Hands the next <paramref name="count"/> decoded inputs to the scoring threads, then writes what is done.</summary>
    private void Flush(int count)
    {
        _waitClock.Start();
        var items = _stream!.Take(count);
        _waitClock.Stop();
        var good = items.Where(i => i.Pixels is not null).Select(i => i.Pixels!).ToList();
        long batch = _batchIndex++;
        var weights = _detector?.PerturbationScope == PerturbationScope.Shared ? _detector.StepWeights : null;
        _workers!.Submit(items, () =>
        {
            if (good.Count == 0) return null;
            var clock = Stopwatch.StartNew();
            var scores = _baselineScorer is not null ? ScoreBaseline(good, batch) : _scorer!.ScoreBytes(good, _epsilon, _mode, weights);
            Interlocked.Add(ref _modelTicks, clock.Elapsed.Ticks);
            return scores;
        });
        // Results go out as soon as they are done; the caller waits only when every worker has a batch queued behind the one it scores.
        while (TakeResults(wait: _workers.InFlight >= _workers.Capacity)) { }
    }

    /// <summary>Writes the oldest scored batch if it is done (or once it is, with <paramref name="wait"/>); false when there was none to write.</summary>
    private bool TakeResults(bool wait)
    {
        _resultClock.Start();
        bool taken;
        List<DecodedInput> items;
        BatchScores? scores;
        try
        {
            taken = _workers!.TryTake(wait, out items, out scores);
        }
        finally
        {
            _resultClock.Stop();
        }
        if (!taken) return false;
        _outputClock.Start();
        WriteResults(items, scores);
        _outputClock.Stop();
        return true;
    }

    private void WriteResults(List<DecodedInput> items, BatchScores? scores)
    {
        var names = _model!.Info.ClassNames;
        int g = 0;
        foreach (var item in items)
        {
            if (item.Error is not null)
            {
                WriteFssdError(item.Error, "FssdImageUnreadable", ErrorCategory.InvalidData, item.Path);
                _run?.Record(item.Path, null, null, "", null, null, item.Error.Message);
                continue;
            }
            var layers = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
            var values = new double[_tapNames.Length];
            for (int k = 0; k < _tapNames.Length; k++)
            {
                values[k] = scores!.TapScores[g, k];
                layers[_tapNames[k]] = values[k];
            }
            double score = Baseline is not null ? BaselineCalibrator.Combine(Baseline, values)
                : _detector is null ? values[0] : DetectorMath.Combine(_detector, values);
            double? threshold = Baseline?.Threshold ?? _detector?.Threshold;
            var result = new FssdScore
            {
                Path = item.Path,
                Score = score,
                Threshold = threshold,
                IsOutOfDistribution = threshold is null ? null : score < threshold,
                Method = Baseline?.Method ?? "FSSD",
                LayerScores = layers,
                PredictedClass = names[scores!.Predicted[g]],
                Confidence = scores.Confidence[g],
                Model = _model.Info.Name,
            };
            _run?.Record(item.Path, score, result.IsOutOfDistribution, result.PredictedClass, result.Confidence, values, null);
            if (ResultPath is null || PassThru)
            {
                var output = PSObject.AsPSObject(result);
                // One column per tap for Export-Csv.
                for (int k = 0; k < _tapNames.Length; k++) output.Properties.Add(new PSNoteProperty("Fssd_" + _tapNames[k].Replace('/', '_'), values[k]));
                WriteObject(output);
            }
            g++;
            _scored++;
        }
        _run?.Flush();
        if (_progress.ElapsedMilliseconds > 1000)
        {
            _progress.Restart();
            WriteProgress(new ProgressRecord(1, "Measure-Fssd", $"{_scored} file(s) scored, {_scored / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3):F0}/s"));
        }
    }

    /// <summary>
    /// A batch scored by the baseline, in the shape FSSD's scores have (one column per tap or one column).
    /// The batch's index seeds its Monte Carlo passes, so a baseline's scores do not depend on which
    /// worker ran the batch or when.
    /// </summary>
    private BatchScores ScoreBaseline(List<byte[]> good, long batchIndex)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var input = ImageTensors.FromSamples(good, _model!.Info.InputSpec, _model.Device);
        var statistic = Baseline!.Statistic.Length > 0 ? Enum.Parse<MonteCarloStatistic>(Baseline.Statistic) : MonteCarloStatistic.Mean;
        var columns = _baselineScorer!.Score(input, new[] { Baseline.Epsilon }, Baseline.Temperature, Math.Max(Baseline.Passes, 2), statistic,
            batchIndex * 1_000_003)[0];
        var (predicted, confidence) = _baselineScorer.Predict(input);
        return new BatchScores(columns, predicted, confidence);
    }

    /// <summary>This worker's shard and results file (-Shard, -ShardCount, -ShardRoot, -ResultPath), when asked for.</summary>
    private void OpenRun()
    {
        if (Shard is null && ShardCount is null && ResultPath is null) return;
        string root = ShardRoot is null ? SessionState.Path.CurrentFileSystemLocation.ProviderPath : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ShardRoot);
        string? path = ResultPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ResultPath);
        try
        {
            _run = ResumableRun.Open(Shard, ShardCount, root, path, _tapNames, RetryError, ParameterSetName != SampleSet, WriteWarning);
        }
        catch (ArgumentException e)
        {
            ThrowFssdError(e, "FssdShardInvalid", ErrorCategory.InvalidArgument, Shard);
        }
        catch (FssdDataException e)
        {
            ThrowFssdError(e, "FssdResultsUnusable", ErrorCategory.WriteError, path);
        }
    }

    protected override void DisposeResources()
    {
        _run?.Dispose();
        _workers?.Dispose();
        _stream?.Dispose();
        _scorer?.Dispose();
    }
}
