using System;
using System.Collections.Generic;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Models;

namespace Fssd.PowerShell.Commands;

/// <summary>Get-FssdPrediction: a classifier's predicted class and confidence for image files or samples, in input order.</summary>
[Cmdlet(VerbsCommon.Get, "FssdPrediction", DefaultParameterSetName = SampleSet)]
[OutputType(typeof(FssdPrediction))]
public sealed class GetFssdPredictionCommand : FssdCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";
    private const string SampleSet = "Sample";
    private readonly List<(RawImage Image, string? Path, string Source, string? TrueClass)> _pending = new();
    private readonly InputPacer _pacer = new();
    private LoadedModel? _model;

    /// <summary>Image files or folders, with wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Image files or folders, taken as written (what Get-ChildItem's objects bind to).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "LP", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public FssdSample InputObject { get; set; } = null!;

    [Parameter]
    public FssdModel? Model { get; set; }

    [Parameter]
    [ValidateRange(1, 65536)]
    [PSDefaultValue(Value = 256)]
    public int BatchSize { get; set; } = 256;

    protected override void BeginProcessing()
    {
        try
        {
            _model = ResolveModel(Model);
            _model.RequireClassifier("class predictions");
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Model);
        }
        _pacer.Start();
    }

    protected override void ProcessRecord()
    {
        _pacer.Arrived(_pending.Count);
        try
        {
            Queue();
            if (_pending.Count >= BatchSize || _pacer.ShouldFlush(_pending.Count)) Flush();
        }
        finally
        {
            _pacer.Left();
        }
    }

    private void Queue()
    {
        if (ParameterSetName == SampleSet)
        {
            var s = InputObject;
            _pending.Add((new RawImage(s.Pixels, s.Height, s.Width, s.Channels), s.FullName, s.Source, s.ClassName));
        }
        else
        {
            var spec = _model!.Info.InputSpec;
            bool literal = ParameterSetName == LiteralSet;
            foreach (var file in InputResolver.ResolvePaths(this, literal ? LiteralPath : Path, literal, WriteError))
            {
                try
                {
                    _pending.Add((ImageDecoder.DecodeAt(file, spec.Channels, spec.Height, spec.Width, CancellationToken), file, file, null));
                }
                catch (FssdDataException e)
                {
                    WriteFssdError(e, "FssdImageUnreadable", ErrorCategory.InvalidData, file);
                }
            }
        }
    }

    protected override void EndProcessing() => Flush();

    private void Flush()
    {
        if (_pending.Count == 0) return;
        var images = new List<RawImage>(_pending.Count);
        foreach (var p in _pending) images.Add(p.Image);
        var predictions = Predictor.Predict(_model!, images);
        var names = _model!.Info.ClassNames;
        for (int i = 0; i < _pending.Count; i++)
        {
            WriteObject(new FssdPrediction
            {
                FullName = _pending[i].Path, Source = _pending[i].Source, PredictedLabel = predictions[i].Label,
                PredictedClass = names[predictions[i].Label], Confidence = predictions[i].Confidence,
                TrueClass = _pending[i].TrueClass, Model = _model.Info.Name,
            });
        }
        _pending.Clear();
    }
}
