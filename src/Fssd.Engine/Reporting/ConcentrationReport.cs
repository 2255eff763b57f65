using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Fssd.Engine.Benchmarks;

namespace Fssd.Engine.Reporting;

/// <summary>Writes the concentration study as a Markdown report with its charts (the paper's Figures 2 and 3).</summary>
public static class ConcentrationReport
{
    public static List<string> Write(ConcentrationResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var ci = CultureInfo.InvariantCulture;
        var files = new List<string>();
        var md = new StringBuilder();
        var o = result.Options;
        var steps = result.Rows.Select(r => r.Step).Distinct().OrderBy(s => s).ToList();
        var taps = result.Rows.Select(r => r.Tap).Distinct().ToList();
        md.AppendLine("# FSSD concentration study: LeNet trained on MNIST, FashionMNIST as OoD (the paper's Figures 2 and 3)");
        md.AppendLine();
        md.AppendLine($"Run {result.StartedUtc:yyyy-MM-dd HH:mm} UTC on {result.Machine}; {result.Seconds:F0} s in all.");
        md.AppendLine($"A LeNet from a seeded initialisation (seed {o.Seed}) trained on {o.TrainingCount} MNIST digits with the default model's recipe (Adadelta, lr 1, batch 64, StepLR 0.7 per epoch); " +
            $"at each recorded step, {o.SampleCount} held-out MNIST digits (in-distribution) and {o.SampleCount} FashionMNIST test images (OoD) pass through it in evaluation mode. " +
            "FSSD is the distance to F*, the mean feature of 100 uniform-noise images at that step; 'moved' is the distance from the input's own features at step 0; " +
            "'speed' is the distance moved since the previous recorded step per training step.");
        md.AppendLine();
        md.AppendLine("| step | tap | accuracy | FSSD in | FSSD OoD | ratio | moved in | moved OoD | speed in | speed OoD | AUROC of FSSD |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        string G(double v) => v.ToString("G4", ci);
        foreach (var r in result.Rows)
            md.AppendLine($"| {r.Step} | {r.Tap} | {(r.Accuracy * 100).ToString("F1", ci)} | {G(r.FssdIn)} | {G(r.FssdOut)} | {(r.FssdIn / r.FssdOut).ToString("F2", ci)} | {G(r.MovedIn)} | {G(r.MovedOut)} | " +
                $"{(r.Step == 0 ? "–" : G(r.SpeedIn))} | {(r.Step == 0 ? "–" : G(r.SpeedOut))} | {(r.AUROC * 100).ToString("F1", ci)} |");
        md.AppendLine();
        md.AppendLine("Accuracy in %, on the held-out digits; AUROC in %.");
        md.AppendLine();

        foreach (var tap in taps)
        {
            var rows = result.Rows.Where(r => r.Tap == tap).OrderBy(r => r.Step).ToList();
            string file = Path.Combine(directory, $"fssd-over-training-{tap}.png");
            Charts.Series(new (string, IReadOnlyList<double>)[] { ("MNIST held out (in)", rows.Select(r => r.FssdIn).ToList()), ("FashionMNIST (OoD)", rows.Select(r => r.FssdOut).ToList()) },
                rows.Select(r => (double)r.Step).ToList(), file, $"Mean FSSD at {tap} over training", "training step", $"mean FSSD at {tap}");
            files.Add(file);
            md.AppendLine($"![Mean FSSD at {tap} over training]({Path.GetFileName(file)})");
            var moving = rows.Where(r => r.Step > 0).ToList();
            if (moving.Count > 0)
            {
                string speed = Path.Combine(directory, $"speed-{tap}.png");
                Charts.Series(new (string, IReadOnlyList<double>)[] { ("MNIST held out (in)", moving.Select(r => r.SpeedIn).ToList()), ("FashionMNIST (OoD)", moving.Select(r => r.SpeedOut).ToList()) },
                    moving.Select(r => (double)r.Step).ToList(), speed, $"Moving speed at {tap} (Figure 2b)", "training step", "mean distance moved per step");
                files.Add(speed);
                md.AppendLine($"![Moving speed at {tap}]({Path.GetFileName(speed)})");
            }
        }
        md.AppendLine();
        md.AppendLine("## Principal components of the logits at each step (Figures 2a and 3)");
        md.AppendLine();
        foreach (var (step, pcIn, pcOut, center) in result.Components)
        {
            string file = Path.Combine(directory, $"components-step{step}.png");
            Charts.Scatter(pcIn, pcOut, center, file, $"Logits at step {step}: first two principal components", "MNIST held out (in)", "FashionMNIST (OoD)", "F* (uniform noise)");
            files.Add(file);
            md.AppendLine($"![Step {step}]({Path.GetFileName(file)})");
        }
        md.AppendLine();
        md.AppendLine("## FSSD distributions over training");
        md.AppendLine();
        foreach (var (step, tap, fin, fout) in result.Fssd)
        {
            string file = Path.Combine(directory, $"fssd-{tap}-step{step}.png");
            Charts.Histogram(fin, fout, file, $"FSSD at {tap}, step {step}", $"FSSD at {tap}", "MNIST held out (in)", "FashionMNIST (OoD)");
            files.Add(file);
            md.AppendLine($"![FSSD at {tap}, step {step}]({Path.GetFileName(file)})");
        }
        string report = Path.Combine(directory, "report.md");
        Persistence.AtomicFile.WriteAllText(report, md.ToString());
        files.Insert(0, report);
        return files;
    }
}
