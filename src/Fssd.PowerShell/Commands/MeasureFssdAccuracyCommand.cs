using System;
using System.Diagnostics;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Training;

namespace Fssd.PowerShell.Commands;

/// <summary>Measure-FssdAccuracy: a classifier's top-1 accuracy on a labelled dataset, overall and per class.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "FssdAccuracy")]
[OutputType(typeof(FssdAccuracy))]
public sealed class MeasureFssdAccuracyCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset Dataset { get; set; } = null!;

    [Parameter(Position = 1)]
    public FssdModel? Model { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var model = ResolveModel(Model);
            model.RequireClassifier("an accuracy");
            var spec = model.Info.InputSpec;
            if (!Dataset.IsLabeled)
            {
                WriteFssdError(new FssdDataException($"The dataset '{Dataset.Name}' has no labels; accuracy needs them."),
                    "FssdDatasetUnlabeled", ErrorCategory.InvalidData, Dataset);
                return;
            }
            var clock = Stopwatch.StartNew();
            var set = DatasetReader.Load(Dataset, spec.Channels, spec.Height, spec.Width, WriteWarning, CancellationToken);
            var (counts, correct) = AccuracyEvaluator.Evaluate(x => model.Forward(x).Logits, set, spec, model.Device,
                model.Info.ClassNames.Count, CancellationToken);
            WriteObject(AccuracyEvaluator.Summarize(model.Info.Name, Dataset.ToString(), model.Info.ClassNames, counts, correct,
                set.Skipped, clock.Elapsed.TotalSeconds));
        }
        catch (OperationCanceledException)
        {
        }
        catch (FssdDataException e)
        {
            WriteFailure(e, Dataset);
        }
        catch (FssdNoClassifierException e)
        {
            ThrowFailure(e, Model);
        }
        catch (FssdModelException e)
        {
            WriteFailure(e, Model);
        }
    }
}
