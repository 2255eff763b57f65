using System;
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
public sealed class InvokeFssdBenchmarkCommand : FssdCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet(FashionMnistVsMnist.Name, IgnoreCase = true)]
    public string Name { get; set; } = FashionMnistVsMnist.Name;

    [Parameter]
    [ValidateSet("Base", "ODIN", "Mahalanobis", "DeepEnsemble", "MCDropout", "OutlierExposure", "Energy", "FSSD", IgnoreCase = true)]
    public string[]? Method { get; set; }

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

    protected override void EndProcessing()
    {
        var activity = $"Invoke-FssdBenchmark {FashionMnistVsMnist.Name}";
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
            };
            Directory.CreateDirectory(modelPath);
            var result = FashionMnistVsMnist.Run(options, session, Report, CancellationToken);
            if (ReportPath is not null)
            {
                string directory = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ReportPath);
                foreach (var file in BenchmarkReport.Write(result, directory)) WriteVerbose($"Wrote {file}.");
            }
            WriteProgress(new ProgressRecord(4, activity, "Done") { RecordType = ProgressRecordType.Completed });
            foreach (var row in result.Rows) WriteObject(row);
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
