using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Benchmarks;
using Fssd.Engine.Data;
using Fssd.Engine.Reporting;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>
/// Invoke-FssdBenchmark: the paper's comparison end to end — data provisioned, classifiers trained or
/// reused, every method calibrated on the same validation inputs and scored on the rest; one row per method.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FssdBenchmark")]
[OutputType(typeof(FssdBenchmarkRow))]
[OutputType(typeof(FssdConcentrationRow))]
public sealed class InvokeFssdBenchmarkCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet(FashionMnistVsMnist.Name, FashionMnistCorrupted.Name, FashionMnistHeldOutClasses.Name, FashionMnistVsKana.Name, Concentration.Name, IgnoreCase = true)]
    public string Name { get; set; } = FashionMnistVsMnist.Name;

    [Parameter]
    [ValidateSet("Base", "ODIN", "Mahalanobis", "DeepEnsemble", "MCDropout", "OutlierExposure", "Energy", "FSSD", MethodSuite.OutlierFree, IgnoreCase = true)]
    public string[]? Method { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(CorruptionCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Corruption { get; set; }

    [Parameter]
    [ValidateRange(2, 10000)]
    public int CorruptionCount { get; set; } = 1000;

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ValidateRange(0, 1000000)]
    public int[]? Step { get; set; }

    [Parameter]
    [ValidateRange(10, 5000)]
    public int SampleCount { get; set; } = 1000;

    [Parameter]
    [ValidateRange(1, 100)]
    public int ClassifierEpochs { get; set; } = Fssd.Engine.Training.TrainingOptions.LeNetEpochs;

    [Parameter]
    public SwitchParameter Robustness { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ReportPath { get; set; }

    [Parameter]
    [ValidateRange(10, 5000)]
    public int ValidationCount { get; set; } = 1000;

    [Parameter]
    [ValidateRange(0, 10000)]
    public int TestCount { get; set; }

    [Parameter]
    [ValidateRange(10, 10000)]
    public int RobustnessCount { get; set; } = 1000;

    [Parameter]
    [ValidateRange(2, 20)]
    public int EnsembleMembers { get; set; } = 5;

    [Parameter]
    [ValidateRange(1, 100)]
    public int EnsembleEpochs { get; set; } = Fssd.Engine.Training.TrainingOptions.LeNetEpochs;

    [Parameter]
    [ValidateRange(0, 60000)]
    public int TrainingCount { get; set; }

    [Parameter]
    [ValidateRange(1, 100)]
    public int OutlierExposureEpochs { get; set; } = 2;

    [Parameter]
    [ValidateRange(0, 60000)]
    public int MahalanobisTrainingCount { get; set; }

    [Parameter]
    [ValidateRange(2, 1000)]
    public int Passes { get; set; } = 32;

    [Parameter]
    public PerturbationMode Perturbation { get; set; } = PerturbationMode.Sign;

    [Parameter]
    public long Seed { get; set; } = BenchmarkOptions.DefaultSeed;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ModelPath { get; set; }

    private static CorruptionKind ParseCorruption(string text) =>
        Enum.TryParse<CorruptionKind>(text, true, out var kind) && Enum.IsDefined(kind)
            ? kind
            : throw new ArgumentException($"There is no corruption '{text}'; the corruptions are {string.Join(", ", Enum.GetNames<CorruptionKind>())}.");

    protected override void EndProcessing()
    {
        string name = new[] { FashionMnistVsMnist.Name, FashionMnistCorrupted.Name, FashionMnistHeldOutClasses.Name, FashionMnistVsKana.Name, Concentration.Name }
            .First(n => n.Equals(Name, StringComparison.OrdinalIgnoreCase));
        var activity = $"Invoke-FssdBenchmark {name}";
        void Report(string message)
        {
            WriteProgress(new ProgressRecord(4, activity, message));
            WriteVerbose(message);
        }
        try
        {
            var session = FssdSession.Current;
            string modelPath = ModelPath is not null
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(ModelPath)
                : Path.Combine(Path.GetDirectoryName(DatasetProvisioner.DefaultRoot().TrimEnd(Path.DirectorySeparatorChar))!, "models");
            var options = new BenchmarkOptions
            {
                ValidationCount = ValidationCount, TestCount = TestCount, Seed = Seed, ModelDirectory = modelPath,
                EnsembleMembers = EnsembleMembers, EnsembleEpochs = EnsembleEpochs, TrainingCount = TrainingCount,
                OutlierExposureEpochs = OutlierExposureEpochs, MahalanobisTrainingCount = MahalanobisTrainingCount, Passes = Passes,
                Perturbation = Perturbation, Robustness = Robustness, RobustnessCount = RobustnessCount, Methods = Method,
                CorruptionCount = CorruptionCount, ClassifierEpochs = ClassifierEpochs, Corruptions = Corruption?.Select(ParseCorruption).ToList(),
            };
            if ((Step is not null || MyInvocation.BoundParameters.ContainsKey(nameof(SampleCount))) && name != Concentration.Name)
                throw new ArgumentException($"-Step and -SampleCount belong to {Concentration.Name}; {name} does not take them.");
            if (name == Concentration.Name)
            {
                var study = new ConcentrationOptions { Seed = Seed, SampleCount = SampleCount, TrainingCount = TrainingCount == 0 ? 8000 : TrainingCount };
                if (Step is not null) study.Steps = Step;
                var concentration = Concentration.Run(study, session, Report, CancellationToken);
                if (ReportPath is not null)
                {
                    string directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ReportPath);
                    foreach (var file in ConcentrationReport.Write(concentration, directory)) WriteVerbose($"Wrote {file}.");
                }
                WriteProgress(new ProgressRecord(4, activity, "Done") { RecordType = ProgressRecordType.Completed });
                foreach (var row in concentration.Rows) WriteObject(row);
                return;
            }
            if (Robustness && name != FashionMnistVsMnist.Name && name != FashionMnistVsKana.Name)
                throw new ArgumentException($"-Robustness belongs to FashionMnistVsMnist and FashionMnistVsKana; {name} does not take it.");
            if (Corruption is not null && name != FashionMnistCorrupted.Name)
                throw new ArgumentException($"-Corruption belongs to {FashionMnistCorrupted.Name}; {name} does not take it.");
            Directory.CreateDirectory(modelPath);
            var results = name switch
            {
                FashionMnistCorrupted.Name => new() { FashionMnistCorrupted.Run(options, session, Report, CancellationToken) },
                FashionMnistHeldOutClasses.Name => FashionMnistHeldOutClasses.Run(options, session, Report, CancellationToken),
                FashionMnistVsKana.Name => new() { FashionMnistVsKana.Run(options, session, Report, CancellationToken) },
                _ => new List<BenchmarkResult> { FashionMnistVsMnist.Run(options, session, Report, CancellationToken) },
            };
            if (ReportPath is not null)
            {
                string directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ReportPath);
                foreach (var file in BenchmarkReport.Write(results, directory)) WriteVerbose($"Wrote {file}.");
            }
            WriteProgress(new ProgressRecord(4, activity, "Done") { RecordType = ProgressRecordType.Completed });
            foreach (var row in results.SelectMany(r => r.Rows)) WriteObject(row);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowFailure(e, ReportPath ?? ModelPath);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowFailure(e, Name);
        }
    }
}
