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

namespace Fssd.PowerShell.Commands;

/// <summary>
/// Measure-Fssd: score every input file by its distance to the Feature Space Singularity, in input
/// order, decoding on worker threads while the model runs; a bad file is an error, never a stop.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "Fssd", DefaultParameterSetName = PathSet)]
[OutputType(typeof(FssdScore))]
public sealed class MeasureFssdCommand : FssdCmdlet
{
    // Three modes (the default detector, -Detector, -Model with its options) by three kinds of input (paths,
    // literal paths, samples): an option a mode does not use is not in its sets, so giving it is an error.
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private const string SampleSet = "InputObject";
    private const string DetectorPrefix = "Detector";
    private const string ModelPrefix = "Model";

    private OrderedImageStream? _stream;
    private DetectorScorer? _scorer;
    private string _method = "FSSD";
    private long _batchIndex;
    private int _scored;
    private readonly Stopwatch _clock = new();
    private readonly Stopwatch _progress = new();
    private ScoringWorkers<List<DecodedInput>>? _workers;
    private long _modelTicks;
    private readonly Stopwatch _waitClock = new();
    private readonly Stopwatch _resultClock = new();
    private readonly Stopwatch _outputClock = new();

    /// <summary>Files or folders, with wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DetectorPrefix + PathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ModelPrefix + PathSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files or folders, taken as written (what Get-ChildItem's objects bind to).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DetectorPrefix + LiteralSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ModelPrefix + LiteralSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Samples from Get-FssdSample.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DetectorPrefix + SampleSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ModelPrefix + SampleSet)]
    [ValidateNotNull]
    public FssdSample[] InputObject { get; set; } = Array.Empty<FssdSample>();

    /// <summary>A detector of any method (FSSD, a feature-space or a baseline detector), or the path of its file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DetectorPrefix + PathSet)]
    [Parameter(Mandatory = true, ParameterSetName = DetectorPrefix + LiteralSet)]
    [Parameter(Mandatory = true, ParameterSetName = DetectorPrefix + SampleSet)]
    [Alias("Baseline")]
    [DetectorTransformation]
    [ArgumentCompleter(typeof(DetectorFileCompleter))]
    public FssdDetector? Detector { get; set; }

    /// <summary>Raw FSSD of a model's taps, without a detector's weights or threshold.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelPrefix + PathSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelPrefix + LiteralSet)]
    [Parameter(Mandatory = true, ParameterSetName = ModelPrefix + SampleSet)]
    public FssdModel? Model { get; set; }

    [Parameter(ParameterSetName = ModelPrefix + PathSet)]
    [Parameter(ParameterSetName = ModelPrefix + LiteralSet)]
    [Parameter(ParameterSetName = ModelPrefix + SampleSet)]
    [PSDefaultValue(Help = "F* of 100 uniform-noise images, seed 0")]
    public FssCenter? Center { get; set; }

    [Parameter(ParameterSetName = ModelPrefix + PathSet)]
    [Parameter(ParameterSetName = ModelPrefix + LiteralSet)]
    [Parameter(ParameterSetName = ModelPrefix + SampleSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TapCompleter))]
    [PSDefaultValue(Help = "every tap at epsilon 0; the default tap with a step")]
    public string[]? Layer { get; set; }

    [Parameter(ParameterSetName = ModelPrefix + PathSet)]
    [Parameter(ParameterSetName = ModelPrefix + LiteralSet)]
    [Parameter(ParameterSetName = ModelPrefix + SampleSet)]
    [ValidateRange(-10.0, 10.0)]
    [PSDefaultValue(Value = 0.0)]
    public double Epsilon { get; set; }

    [Parameter(ParameterSetName = ModelPrefix + PathSet)]
    [Parameter(ParameterSetName = ModelPrefix + LiteralSet)]
    [Parameter(ParameterSetName = ModelPrefix + SampleSet)]
    [PSDefaultValue(Value = PerturbationMode.Sign)]
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    [Parameter]
    [ValidateRange(1, 65536)]
    [PSDefaultValue(Value = 128)]
    public int BatchSize { get; set; } = 128;

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Shard { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? ShardCount { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    [PSDefaultValue(Help = "the current location")]
    public string? ShardRoot { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ResultPath { get; set; }

    [Parameter]
    public SwitchParameter RetryError { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter]
    [PSDefaultValue(Help = "the session's (Set-FssdContext -Precision; Float32 unless changed)")]
    public FssdPrecision? Precision { get; set; }

    private ResumableRun? _run;

    private readonly InputPacer _pacer = new();

    // The default detector knows one kind of image; the first input unlike it gets a warning, once.
    private bool _checkFit;
    private int _unfit;
    private string? _firstUnfit;

    private bool IsSampleSet => ParameterSetName.EndsWith(SampleSet, StringComparison.Ordinal);

    protected override void BeginProcessing()
    {
        try
        {
            var session = FssdSession.Current;
            var (precision, precisionNote) = FssdSession.ScoringPrecision(Precision ?? session.Precision, session.Device);
            if (precisionNote.Length > 0)
            {
                if (Precision is not null) WriteWarning(precisionNote);
                else WriteVerbose(precisionNote);
            }
            if (Detector is not null)
            {
                _scorer = DetectorScorer.For(Detector, Detector.Models.Select(m => ResolveModel(m)).ToList(), precision);
                _method = Detector.Method.ToString();
            }
            else if (Model is null)
            {
                // Neither: the module's default detector (default model, its noise F*, outlier-free FSSD-Ensem set on FashionMNIST).
                var (detector, models) = DetectorLoader.Load(DefaultDetector.Path, session.Models, session.Device);
                foreach (var m in models) Hold(m);
                _scorer = DetectorScorer.For(detector, models, precision);
                _checkFit = true;
                WriteVerbose($"Scoring with the default detector {detector}.");
            }
            else
            {
                var model = ResolveModel(Model);
                if (Center is null) WriteVerbose($"No -Center: using F* from {CenterEstimator.DefaultNoiseSamples} uniform-noise images (seed 0).");
                var center = Center ?? CenterEstimator.FromNoise(model, CenterEstimator.DefaultNoiseSamples, 0, CenterSource.UniformNoise);
                _scorer = DetectorScorer.ForTaps(model, center, Layer, Epsilon, Perturbation, precision);
            }
            if (_scorer.Precision != precision)
            {
                string why = $"The network cannot compute in {precision} (only built-in architectures can: LeNet, ResNet18, ResNet34; or the detector's method is not FSSD); scoring in {_scorer.Precision}.";
                if (Precision is not null) WriteWarning(why);
                else WriteVerbose(why);
            }
            _stream = new OrderedImageStream(_scorer.Spec, Math.Max(4 * BatchSize, 64), CancellationToken);
            _workers = ScoringWorkers<List<DecodedInput>>.ForDevice(_scorer.Model.Device, session.Threads, CancellationToken, _scorer.MaxWorkers);
            WriteVerbose($"Scoring on {_workers.Workers} thread(s), batches of {BatchSize}, in {_scorer.Precision}.");
            OpenRun();
            _clock.Start();
            _progress.Start();
            _pacer.Start();
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Detector ?? (object?)Model);
        }
    }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName.EndsWith(LiteralSet, StringComparison.Ordinal);
        _pacer.Arrived(_stream!.Count);
        try
        {
            if (IsSampleSet)
            {
                var spec = _scorer!.Spec;
                foreach (var sample in InputObject)
                {
                    if (_run is not null && !_run.Admit(sample.Source)) continue;
                    _stream.Add(InputResolver.Prepare(sample, spec));
                    if (_stream.Count >= 2 * BatchSize) Flush(BatchSize);
                }
            }
            else
            {
                foreach (var file in InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError))
                {
                    if (_run is not null && !_run.Admit(file)) continue;
                    _stream.Add(file);
                    if (_stream.Count >= 2 * BatchSize) Flush(BatchSize);
                }
            }
            // A producer that pauses gets its results now, not when a batch fills.
            if (_pacer.ShouldFlush(_stream.Count)) FlushAll();
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _pacer.Left();
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            FlushAll();
            WriteProgress(new ProgressRecord(1, "Measure-Fssd", "Done") { RecordType = ProgressRecordType.Completed });
            var model = TimeSpan.FromTicks(Interlocked.Read(ref _modelTicks));
            var rest = _clock.Elapsed - _waitClock.Elapsed - _resultClock.Elapsed - _outputClock.Elapsed;
            WriteVerbose($"Scored {_scored} file(s) in {_clock.Elapsed.TotalSeconds:F1} s ({_scored / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3):F0}/s). " +
                $"The model: {model.TotalSeconds:F1} s over {_workers!.Workers} scoring thread(s). This thread: waiting for decoded files " +
                $"{_waitClock.Elapsed.TotalSeconds:F1} s, for the model {_resultClock.Elapsed.TotalSeconds:F1} s, writing results " +
                $"{_outputClock.Elapsed.TotalSeconds:F1} s, reading paths and the rest {rest.TotalSeconds:F1} s.");
            if (_pacer.Pauses > 0) WriteVerbose($"Input paused {_pacer.Pauses} time(s); what had come was scored each time without waiting for a full batch.");
            if (_run is not null) WriteVerbose(_run.Summary());
            if (_unfit > 0) WriteVerbose($"{_unfit} input(s) were unlike the default detector's images, the first '{_firstUnfit}'.");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Scores everything queued, partial batches included, and writes every result.</summary>
    private void FlushAll()
    {
        while (_stream!.Count > 0) Flush(BatchSize);
        while (TakeResults(wait: true)) { }
    }

    /// <summary>Hands the next <paramref name="count"/> decoded inputs to the scoring threads, then writes what is done.</summary>
    private void Flush(int count)
    {
        _waitClock.Start();
        var items = _stream!.Take(count);
        _waitClock.Stop();
        var good = items.Where(i => i.Pixels is not null).Select(i => i.Pixels!).ToList();
        long batch = _batchIndex++;
        _workers!.Submit(items, () =>
        {
            if (good.Count == 0) return null;
            var clock = Stopwatch.StartNew();
            var scores = _scorer!.Score(good, batch);
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
        var scorer = _scorer!;
        var names = scorer.Model.Info.ClassNames;
        var keys = scorer.Keys;
        int g = 0;
        foreach (var item in items)
        {
            if (item.Error is not null)
            {
                WriteFssdError(item.Error, "FssdImageUnreadable", ErrorCategory.InvalidData, item.Path);
                _run?.Record(item.Path, null, null, "", null, null, item.Error.Message);
                continue;
            }
            if (_checkFit && item.Original is { } original) CheckFit(item.Path, original);
            var layers = new FssdLayerScores();
            var values = new double[keys.Count];
            for (int k = 0; k < keys.Count; k++)
            {
                values[k] = scores!.TapScores[g, k];
                layers[keys[k]] = values[k];
            }
            double score = scorer.Combine(values);
            var result = new FssdScore
            {
                FullName = item.Path,
                IsFile = item.IsFile,
                Score = score,
                Threshold = scorer.Threshold,
                IsOutOfDistribution = scorer.Threshold is { } t ? score < t : null,
                Method = _method,
                LayerScores = layers,
                PredictedClass = scores!.Predicted.Length > g ? names[scores.Predicted[g]] : null,
                Confidence = scores.Confidence.Length > g ? scores.Confidence[g] : null,
                Model = scorer.Model.Info.Name,
            };
            _run?.Record(item.Path, score, result.IsOutOfDistribution, result.PredictedClass, result.Confidence, values, null);
            if (ResultPath is null || PassThru) WriteObject(result);
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

    private void CheckFit(string path, SourceImage original)
    {
        if (InputFit.Mismatch(_scorer!.Spec, original) is not { } why) return;
        if (_unfit++ > 0) return;
        _firstUnfit = path;
        var spec = _scorer.Spec;
        WriteWarning($"'{path}' is {why}. The default detector was made for {spec.Width} x {spec.Height} " +
            $"{(spec.Channels == 1 ? "gray" : "colour")} images of clothing (FashionMNIST): on other images its verdicts say little. " +
            "Make a detector from your own images (New-FssdDetector, see \"Your own images\" in the module's README) and give it with -Detector. " +
            "This warning is given once per command.");
    }

    /// <summary>This worker's shard and results file (-Shard, -ShardCount, -ShardRoot, -ResultPath), when asked for.</summary>
    private void OpenRun()
    {
        if (Shard is null && ShardCount is null && ResultPath is null) return;
        string root = ShardRoot is null ? SessionState.Path.CurrentFileSystemLocation.ProviderPath : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ShardRoot);
        string? path = ResultPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ResultPath);
        try
        {
            _run = ResumableRun.Open(Shard, ShardCount, root, path, _scorer!.Keys.ToArray(), RetryError, !IsSampleSet, WriteWarning);
        }
        catch (ArgumentException e)
        {
            ThrowFailure(e, Shard);
        }
        catch (FssdDataException e)
        {
            ThrowFailure(e, path);
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
