using System;
using System.Collections.Generic;

namespace Fssd;

/// <summary>One setting a baseline's calibration tried: its hyper-parameters and how it did on the validation data.</summary>
public sealed class FssdBaselineTrial
{
    public string Method { get; init; } = "";

    /// <summary>Softmax temperature (ODIN, Energy); 1 where the method has none.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>Input step (ODIN, Mahalanobis); 0 where the method has none.</summary>
    public double Epsilon { get; init; }

    /// <summary>MC Dropout's statistic (Mean or Variance); empty for the other methods.</summary>
    public string Statistic { get; init; } = "";

    /// <summary>True-negative rate at 95% TPR on the validation data: the selection criterion.</summary>
    public double TnrAt95Tpr { get; init; }

    public double AUROC { get; init; }

    public bool Chosen { get; init; }

    public override string ToString() =>
        $"{Method} T {Temperature:G4} eps {Epsilon:G3}{(Statistic.Length > 0 ? " " + Statistic : "")}: TNR@95 {TnrAt95Tpr:P2}, AUROC {AUROC:P2}{(Chosen ? " (chosen)" : "")}";
}

/// <summary>
/// A baseline OoD detector the paper compares FSSD with (Base, ODIN, Mahalanobis, Energy, MCDropout,
/// DeepEnsemble, OutlierExposure), calibrated on validation data: its hyper-parameters, its threshold
/// and what calibration tried. Returned by New-FssdBaseline; Measure-Fssd -Baseline scores with it.
/// Held in the session (Mahalanobis keeps its class Gaussians in memory); not written to a file.
/// </summary>
public sealed class FssdBaseline
{
    public string Method { get; init; } = "";

    /// <summary>The classifiers (several for DeepEnsemble).</summary>
    public IReadOnlyList<FssdModel> Models { get; init; } = Array.Empty<FssdModel>();

    public FssdModel Model => Models[0];

    public double Temperature { get; init; } = 1;
    public double Epsilon { get; init; }
    public string Statistic { get; init; } = "";

    /// <summary>MC Dropout's stochastic passes per input.</summary>
    public int Passes { get; init; }

    /// <summary>Mahalanobis: the taps with their regression weights and scaling; empty for the other methods.</summary>
    public IReadOnlyList<FssdDetectorLayer> Layers { get; init; } = Array.Empty<FssdDetectorLayer>();

    public double Intercept { get; init; }

    /// <summary>Scores below this are out of distribution.</summary>
    public double Threshold { get; init; }

    public double TargetTpr { get; init; }

    /// <summary>The in-distribution TPR the threshold reached on the validation inputs it was set on.</summary>
    public double ValidationTpr { get; init; }

    /// <summary>Metrics on the validation inputs the choice was judged on.</summary>
    public FssdMetrics ValidationMetrics { get; init; } = new();

    /// <summary>Every setting tried, with its TNR at 95% TPR and AUROC.</summary>
    public IReadOnlyList<FssdBaselineTrial> Trials { get; init; } = Array.Empty<FssdBaselineTrial>();

    /// <summary>Where the fitted statistics came from (Mahalanobis: the training set).</summary>
    public string TrainingSource { get; init; } = "";

    public string ValidationSource { get; init; } = "";
    public int ValidationCount { get; init; }

    /// <summary>Seconds calibration took.</summary>
    public double Seconds { get; init; }

    public override string ToString() =>
        $"{Method} on {Model.Name}{(Method == "ODIN" ? $", T {Temperature:G4}, eps {Epsilon:G3}" : Method == "Mahalanobis" ? $", eps {Epsilon:G3}" : Method == "MCDropout" ? $", {Statistic} of {Passes} passes" : "")}, threshold {Threshold:G6} at TPR {TargetTpr:P0}";
}
