using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Models.Architectures;
using Fssd.Engine.Runtime;
using Fssd.Engine.Training;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// New-FssdClassifier: train a built-in architecture on a labelled dataset, or fine-tune a model: a built-in
/// one whole, an ONNX model or pretrained backbone with a new linear head on its last feature.
/// </summary>
[Cmdlet(VerbsCommon.New, "FssdClassifier", SupportsShouldProcess = true, DefaultParameterSetName = InitialModelSet)]
[OutputType(typeof(FssdModel))]
public sealed class NewFssdClassifierCommand : FssdCmdlet
{
    private const string ArchitectureSet = "Architecture";
    private const string InitialModelSet = "InitialModel";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ArchitectureSet)]
    [ValidateSet("LeNet", "ResNet18", "ResNet34", IgnoreCase = true)]
    public string Architecture { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = ArchitectureSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InitialModelSet)]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset TrainingSet { get; set; } = null!;

    [Parameter]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset? ValidationSet { get; set; }

    [Parameter]
    [ValidateRange(0.001, 0.5)]
    public double ValidationFraction { get; set; } = 0.1;

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string OutputPath { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    [ValidateRange(1, 100000)]
    public int Epochs { get; set; }

    [Parameter]
    [ValidateRange(1, 65536)]
    public int BatchSize { get; set; }

    [Parameter]
    public TrainingOptimizer Optimizer { get; set; }

    [Parameter]
    [ValidateRange(1e-9, 100.0)]
    public double LearningRate { get; set; }

    [Parameter]
    public LearningRateSchedule Schedule { get; set; }

    [Parameter]
    [ValidateRange(1e-6, 1.0)]
    public double Gamma { get; set; }

    [Parameter]
    [ValidateRange(0.0, 0.999)]
    public double Momentum { get; set; }

    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double WeightDecay { get; set; }

    [Parameter]
    public long Seed { get; set; } = 1;

    [Parameter(ParameterSetName = ArchitectureSet)]
    [ValidateRange(0, 100000)]
    public int SnapshotEvery { get; set; }

    [Parameter]
    public SwitchParameter Augment { get; set; }

    [Parameter(ParameterSetName = ArchitectureSet)]
    [ValidateCount(2, 2)]
    [ValidateRange(8, 4096)]
    public int[]? InputSize { get; set; }

    [Parameter(ParameterSetName = ArchitectureSet)]
    [ValidateSet("Cifar", "ImageNet", IgnoreCase = true)]
    public string Stem { get; set; } = "Cifar";

    [Parameter(ParameterSetName = ArchitectureSet)]
    [Parameter(Mandatory = true, ParameterSetName = InitialModelSet)]
    [ValidateNotNull]
    public FssdModel? InitialModel { get; set; }

    [Parameter(ParameterSetName = InitialModelSet)]
    public SwitchParameter TrainLastStage { get; set; }

    [Parameter(ParameterSetName = InitialModelSet)]
    [ValidateRange(1, 10000)]
    public int LastStageEpochs { get; set; } = 10;

    [Parameter(ParameterSetName = InitialModelSet)]
    [ValidateRange(1e-9, 100.0)]
    public double LastStageLearningRate { get; set; }

    [Parameter(ParameterSetName = ArchitectureSet)]
    [DatasetTransformation]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    [ValidateNotNull]
    public FssdDataset? OutlierSet { get; set; }

    [Parameter]
    [ValidateRange(0.0, 100.0)]
    public double OutlierWeight { get; set; } = 0.5;

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        TrainingOptions options;
        (int Channels, int Height, int Width) shape;
        try
        {
            options = Options();
            shape = NewHead ? (InitialModel!.InputSpec.Channels, InitialModel.InputSpec.Height, InitialModel.InputSpec.Width) : options.InputShape(InputSize);
        }
        catch (ArgumentException e)
        {
            // An option every input would use: the whole call is meaningless.
            ThrowFailure(e, InitialModel ?? (object?)InputSize);
            return;
        }
        string manifest = System.IO.Path.Combine(options.OutputDirectory, options.Name + ".yaml");
        if (File.Exists(manifest) && !Force)
        {
            WriteFssdError(new IOException($"'{manifest}' already exists; use -Force to train over it, or choose another -Name."),
                "FssdClassifierExists", ErrorCategory.ResourceExists, manifest);
            return;
        }
        if (!TrainingSet.IsLabeled)
        {
            WriteFailure(new FssdDataException($"The training set '{TrainingSet.Name}' has no labels; give an IDX file with labels or a folder of class folders."), TrainingSet);
            return;
        }
        string what = NewHead ? $"Train a new head on '{InitialModel!.Name}'" : $"Train {options.Architecture}";
        if (!ShouldProcess(manifest, $"{what} on {TrainingSet} for {options.Epochs} epoch(s)")) return;
        try
        {
            WriteObject(Train(options, shape));
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C before the first epoch finished: nothing was written.
        }
        catch (Exception e) when (e is FssdDataException or FssdModelException or IOException or UnauthorizedAccessException)
        {
            WriteFailure(e, e is FssdDataException ? TrainingSet : options.OutputDirectory);
        }
    }

    /// <summary>Whether a new head is trained on an ONNX model's feature (the model frozen).</summary>
    private bool NewHead => ParameterSetName == InitialModelSet && InitialModel is not null &&
        InitialModel.Architecture.Equals(ArchitectureCatalog.Onnx, StringComparison.OrdinalIgnoreCase);

    /// <summary>The training options from the parameters: the architecture's recipe, with what the caller gave.</summary>
    private TrainingOptions Options()
    {
        string architecture = ParameterSetName == ArchitectureSet ? Architecture : InitialModel!.Architecture;
        if (architecture.Equals(ArchitectureCatalog.TorchScript, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"The initial model '{InitialModel!.Name}' is TorchScript, which cannot be trained here; fine-tune a built-in architecture, an ONNX model or a pretrained backbone.", nameof(InitialModel));
        var options = NewHead ? TrainingOptions.ForHead() : TrainingOptions.For(architecture);
        options.Name = Name ?? (NewHead ? $"{InitialModel!.Name}-{TrainingSet.Name}" : $"{options.Architecture}-{TrainingSet.Name}").ToLowerInvariant().Replace(' ', '-');
        options.OutputDirectory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutputPath);
        if (Bound(nameof(Epochs))) options.Epochs = Epochs;
        if (Bound(nameof(BatchSize))) options.BatchSize = BatchSize;
        if (Bound(nameof(Optimizer))) options.Optimizer = Optimizer;
        if (Bound(nameof(LearningRate))) options.LearningRate = LearningRate;
        if (Bound(nameof(Schedule))) options.Schedule = Schedule;
        if (Bound(nameof(Gamma))) options.Gamma = Gamma;
        if (Bound(nameof(Momentum))) options.Momentum = Momentum;
        if (Bound(nameof(WeightDecay))) options.WeightDecay = WeightDecay;
        if (Bound(nameof(Augment))) options.Augment = Augment.IsPresent;
        options.Seed = Seed;
        options.SnapshotEvery = SnapshotEvery;
        options.Stem = Stem.Equals("ImageNet", StringComparison.OrdinalIgnoreCase) ? ResNetStem.ImageNet : ResNetStem.Cifar;
        options.OutlierWeight = OutlierWeight;
        if ((Bound(nameof(TrainLastStage)) || Bound(nameof(LastStageEpochs)) || Bound(nameof(LastStageLearningRate))) && !NewHead)
            throw new ArgumentException($"-TrainLastStage, -LastStageEpochs and -LastStageLearningRate go with a new head on an ONNX model or a pretrained backbone; '{InitialModel!.Name}' is a {InitialModel.Architecture}, which trains whole.", nameof(TrainLastStage));
        options.TrainLastStage = TrainLastStage.IsPresent;
        options.LastStageEpochs = LastStageEpochs;
        if (Bound(nameof(LastStageLearningRate))) options.LastStageLearningRate = LastStageLearningRate;
        if (InitialModel is not null && !NewHead) options.StartFrom(InitialModel);
        return options;
    }

    /// <summary>Reads the sets, trains with progress, and returns the trained model as the session loaded it.</summary>
    private FssdModel? Train(TrainingOptions options, (int Channels, int Height, int Width) shape)
    {
        var (channels, height, width) = shape;
        var session = FssdSession.Current;
        WriteVerbose($"Reading {TrainingSet} as {channels}x{height}x{width}.");
        var train = DatasetReader.Load(TrainingSet, channels, height, width, WriteWarning, CancellationToken);
        var outliers = OutlierSet is null ? null : DatasetReader.Load(OutlierSet, channels, height, width, WriteWarning, CancellationToken);
        ImageSet validation;
        if (ValidationSet is not null)
        {
            validation = DatasetReader.Load(ValidationSet, channels, height, width, WriteWarning, CancellationToken);
        }
        else
        {
            (train, validation) = ClassifierTrainer.Split(train, ValidationFraction, options.Seed);
            WriteVerbose($"No -ValidationSet: holding out {validation.Count} of the training images (seed {options.Seed}).");
        }
        var activity = NewHead
            ? $"Training a head on {InitialModel!.Name} for {TrainingSet.Name} ({train.Count} images)"
            : $"Training {options.Architecture} on {TrainingSet.Name} ({train.Count} images)";
        void Progress(TrainingProgress p) => WriteProgress(new ProgressRecord(1, activity,
            p.Epoch == 0 ? $"Features of the training and held-out images: batch {p.Batch}/{p.Batches}"
            : $"Epoch {p.Epoch}/{p.Epochs}, batch {p.Batch}/{p.Batches}, loss {p.Loss:F4}" + (p.LastAccuracy is double a ? $", held-out accuracy {a:P2}" : ""))
        {
            PercentComplete = Math.Clamp(p.Epoch == 0 ? (int)(100.0 * p.Batch / Math.Max(1, p.Batches))
                : (int)(100.0 * ((p.Epoch - 1) * p.Batches + p.Batch) / ((double)p.Epochs * p.Batches)), 0, 100),
            SecondsRemaining = p.Remaining is TimeSpan r ? (int)r.TotalSeconds : -1,
        });
        void EpochDone(FssdEpochResult e) => WriteVerbose($"Epoch {e.Epoch}: loss {e.Loss:F4}, held-out accuracy {e.Accuracy:P2}, {e.Seconds:F1} s.");
        var result = NewHead
            ? HeadTrainer.Train(session.Models.Get(InitialModel!), train, validation, TrainingSet.ClassNames, options, Progress, EpochDone, CancellationToken)
            : ClassifierTrainer.Train(train, validation, TrainingSet.ClassNames, options, session.Device, Progress, EpochDone, CancellationToken, outliers);
        if (CancellationToken.IsCancellationRequested) return null;
        WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
        return session.Models.GetOrLoad(new ModelLoadRequest { Path = result.ManifestPath }, session.Device, out _).Info;
    }
}
