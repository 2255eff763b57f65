using System;
using System.Collections.Generic;
using Fssd.Engine.Models.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fssd.Engine.Training;

public enum TrainingOptimizer
{
    /// <summary>Adadelta (rho 0.9, eps 1e-6), as the paper's authors trained LeNet.</summary>
    Adadelta,

    /// <summary>SGD with momentum and weight decay, the usual ResNet recipe.</summary>
    Sgd,
}

public enum LearningRateSchedule
{
    /// <summary>Multiply the rate by Gamma after every epoch (StepLR, step size 1).</summary>
    Step,

    /// <summary>Cosine annealing from the rate to zero over all batches of all epochs.</summary>
    Cosine,

    /// <summary>Keep the rate.</summary>
    Constant,
}

/// <summary>What New-FssdClassifier trains and how. <see cref="For"/> gives each architecture's defaults.</summary>
public sealed class TrainingOptions
{
    public string Architecture { get; set; } = ArchitectureCatalog.LeNet;
    public string Name { get; set; } = "model";
    public string OutputDirectory { get; set; } = "";
    public int Epochs { get; set; }
    public int BatchSize { get; set; }
    public TrainingOptimizer Optimizer { get; set; }
    public double LearningRate { get; set; }
    public LearningRateSchedule Schedule { get; set; }

    /// <summary>StepLR's factor per epoch.</summary>
    public double Gamma { get; set; } = 0.7;

    public double Momentum { get; set; } = 0.9;
    public double WeightDecay { get; set; }
    public long Seed { get; set; } = 1;

    /// <summary>Weights to start from (fine-tuning), of the same architecture and classes; null: a fresh initialisation.</summary>
    public string? InitialWeights { get; set; }

    /// <summary>
    /// Outlier exposure's λ: the weight of the cross-entropy between the predictions on the auxiliary
    /// outlier batch and the uniform distribution (Hendrycks et al., 2019: 0.5).
    /// </summary>
    public double OutlierWeight { get; set; } = 0.5;

    /// <summary>A new head (<see cref="HeadTrainer"/>): then also train the network's last stage with it, for <see cref="LastStageEpochs"/> epochs.</summary>
    public bool TrainLastStage { get; set; }

    /// <summary>Epochs of the last stage and the head together, after the head alone.</summary>
    public int LastStageEpochs { get; set; } = 10;

    /// <summary>
    /// The learning rate of the last stage and the head together (SGD, momentum and weight decay as for the head,
    /// cosine). 0.1 moved FSSD at the last stage furthest from the frozen network's of the rates tried (0.001, 0.01,
    /// 0.05, 0.1) on the animal photo benchmark (docs/photos.md).
    /// </summary>
    public double LastStageLearningRate { get; set; } = 0.1;

    /// <summary>Random crop (4 pixels of padding) and horizontal flip of training batches.</summary>
    public bool Augment { get; set; }

    /// <summary>Also keep the weights of every Nth epoch as a snapshot; 0 keeps none.</summary>
    public int SnapshotEvery { get; set; }

    /// <summary>Input height and width; null takes the architecture's default.</summary>
    public int[]? InputSize { get; set; }

    /// <summary>ResNet only.</summary>
    public ResNetStem Stem { get; set; } = ResNetStem.Cifar;

    /// <summary>Per-channel normalization; null measures it on the training data.</summary>
    public double[]? Mean { get; set; }
    public double[]? Std { get; set; }

    /// <summary>LeNet as the paper's authors trained it (PyTorch's MNIST example): Adadelta, lr 1.0, StepLR γ 0.7, batch 64, 14 epochs.</summary>
    public const int LeNetEpochs = 14;

    /// <summary>Fine-tuning: start from <paramref name="initial"/>'s weights and keep its input normalisation.</summary>
    public void StartFrom(FssdModel initial)
    {
        if (!initial.Architecture.Equals(Architecture, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"The initial model '{initial.Name}' is a {initial.Architecture}; it cannot start a {Architecture}.", "initialModel");
        InitialWeights = initial.WeightsPath;
        Mean = initial.InputSpec.Mean;
        Std = initial.InputSpec.Std;
    }

    /// <summary>The optimizer these options name (Adadelta as the authors used it, or SGD with momentum), over <paramref name="parameters"/>.</summary>
    public optim.Optimizer CreateOptimizer(IList<Parameter> parameters) => Optimizer == TrainingOptimizer.Adadelta
        ? optim.Adadelta(parameters, lr: LearningRate, rho: 0.9, eps: 1e-6, weight_decay: WeightDecay)
        : optim.SGD(parameters, LearningRate, momentum: Momentum, weight_decay: WeightDecay);

    /// <summary>The schedule these options name, for <paramref name="batches"/> steps an epoch: StepLR steps once an epoch, cosine once a batch; null for a constant rate.</summary>
    public optim.lr_scheduler.LRScheduler? CreateScheduler(optim.Optimizer optimizer, int batches) => Schedule switch
    {
        LearningRateSchedule.Step => optim.lr_scheduler.StepLR(optimizer, 1, Gamma),
        LearningRateSchedule.Cosine => optim.lr_scheduler.CosineAnnealingLR(optimizer, Epochs * batches),
        _ => null,
    };

    /// <summary>
    /// The input the network is trained on: the architecture's default channels, at <paramref name="inputSize"/>
    /// (height, width) or the default size. LeNet reads 28 × 28 only.
    /// </summary>
    public (int Channels, int Height, int Width) InputShape(int[]? inputSize)
    {
        var defaults = ArchitectureCatalog.DefaultInput(Architecture, Stem);
        int height = inputSize?[0] ?? defaults.Height, width = inputSize?[1] ?? defaults.Width;
        if (Architecture == ArchitectureCatalog.LeNet && (height != 28 || width != 28))
            throw new ArgumentException($"LeNet reads 28x28 images; {height}x{width} was asked for.", "inputSize");
        return (defaults.Channels, height, width);
    }

    /// <summary>
    /// The defaults for a new head on an ONNX network's feature (<see cref="HeadTrainer"/>): SGD on the
    /// standardised features (lr 0.01, momentum 0.9, weight decay 5e-4), a cosine schedule, batch 32, 30
    /// epochs, and every training image also seen mirrored left to right.
    /// </summary>
    public static TrainingOptions ForHead() => new()
    {
        Architecture = ArchitectureCatalog.Onnx, Epochs = 30, BatchSize = 32, Optimizer = TrainingOptimizer.Sgd,
        LearningRate = 0.01, Momentum = 0.9, WeightDecay = 5e-4, Schedule = LearningRateSchedule.Cosine, Augment = true,
    };

    /// <summary>
    /// The defaults of an architecture: LeNet as above; ResNet with SGD (lr 0.1, momentum 0.9,
    /// weight decay 5e-4), a cosine schedule, batch 128, random crop and flip, 30 epochs.
    /// </summary>
    public static TrainingOptions For(string architecture)
    {
        string canonical = ArchitectureCatalog.Canonical(architecture);
        if (canonical is ArchitectureCatalog.TorchScript or ArchitectureCatalog.Onnx)
            throw new ArgumentException($"A {canonical} model cannot be trained here; train one of LeNet, ResNet18, ResNet34.", nameof(architecture));
        return canonical == ArchitectureCatalog.LeNet
            ? new TrainingOptions
            {
                Architecture = canonical, Epochs = LeNetEpochs, BatchSize = 64, Optimizer = TrainingOptimizer.Adadelta,
                LearningRate = 1.0, Schedule = LearningRateSchedule.Step, Gamma = 0.7, Augment = false,
            }
            : new TrainingOptions
            {
                Architecture = canonical, Epochs = 30, BatchSize = 128, Optimizer = TrainingOptimizer.Sgd,
                LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4, Schedule = LearningRateSchedule.Cosine, Augment = true,
            };
    }
}

/// <summary>Where training is, for a progress bar.</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double? LastAccuracy,
    TimeSpan Elapsed, TimeSpan? Remaining);
