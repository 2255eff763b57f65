using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Fssd.Engine.Benchmarks;

namespace Fssd.Engine.Reporting;

/// <summary>Writes a benchmark run as a Markdown report with PNG charts.</summary>
public static class BenchmarkReport
{
    /// <summary>Writes report.md and its charts into <paramref name="directory"/>; returns the files written.</summary>
    public static List<string> Write(BenchmarkResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        var ci = CultureInfo.InvariantCulture;
        string P(double v) => (v * 100).ToString("F1", ci);
        string? Paper(double? v) => v is double d ? (d * 100).ToString("F1", ci) : null;

        // Charts.
        foreach (var (tap, scoresIn, scoresOut) in result.TapScores)
        {
            string file = Path.Combine(directory, $"fssd-{tap}.png");
            Charts.Histogram(scoresIn, scoresOut, file, $"FSSD at {tap}: FashionMNIST vs MNIST", $"FSSD at {tap} (eps 0)", "FashionMNIST test", "MNIST");
            files.Add(file);
        }
        if (result.TestScores.Count > 0)
        {
            string roc = Path.Combine(directory, "roc.png");
            Charts.Roc(result.TestScores.Select(t => (t.Method, (IReadOnlyList<double>)t.In, (IReadOnlyList<double>)t.Out)).ToList(), roc,
                "ROC: FashionMNIST (in) vs MNIST (OoD), LeNet");
            files.Add(roc);
            var fssd = result.TestScores.FirstOrDefault(t => t.Method == "FSSD");
            if (fssd.In is not null)
            {
                string hist = Path.Combine(directory, "fssd-ensemble.png");
                Charts.Histogram(fssd.In, fssd.Out, hist, "FSSD-Ensem score: FashionMNIST vs MNIST", "FSSD-Ensem score (log-odds of in-distribution)", "FashionMNIST test", "MNIST");
                files.Add(hist);
            }
        }
        var robustnessCharts = new List<(string Kind, string File)>();
        foreach (var kind in new[] { "GaussianNoise", "ImpulseNoise" })
        {
            var rows = result.Robustness.Where(r => r.Corruption == kind || r.Corruption == "None").ToList();
            if (rows.Count == 0) continue;
            var levels = rows.Select(r => r.Level).Distinct().OrderBy(l => l).ToList();
            var labels = levels.Select(l => l == 0 ? "clean" : rows.First(r => r.Level == l && r.Corruption == kind).Severity.ToString("G3", ci)).ToList();
            var lines = rows.Select(r => r.Method).Distinct().Select(m => (m, (IReadOnlyList<double>)levels.Select(l => rows.First(r => r.Method == m && r.Level == l).AUROC).ToList())).ToList();
            string file = Path.Combine(directory, $"robustness-{kind}.png");
            Charts.Levels(lines, labels, file, $"AUROC under {(kind == "GaussianNoise" ? "Gaussian noise (sigma)" : "impulse noise (share of pixels)")}");
            files.Add(file);
            robustnessCharts.Add((kind, file));
        }

        // Markdown.
        var md = new StringBuilder();
        var o = result.Options;
        md.AppendLine("# FSSD benchmark: FashionMNIST vs. MNIST (LeNet)");
        md.AppendLine();
        md.AppendLine($"Run {result.StartedUtc:yyyy-MM-dd HH:mm} UTC on {result.Machine}; {result.Seconds:F0} s in all.");
        var first = result.Rows.FirstOrDefault();
        md.AppendLine($"Validation: {result.ValidationCount} + {result.ValidationCount} images drawn with seed {o.Seed}; test: {first?.InCount} FashionMNIST + {first?.OutCount} MNIST images.");
        md.AppendLine($"Deep Ensemble: {o.EnsembleMembers} LeNets, {o.EnsembleEpochs} epoch(s) each; outlier exposure: {o.OutlierExposureEpochs} epoch(s) of fine-tuning with the Kana set (a KMNIST-like set drawn from Debian's Japanese fonts; the paper used KMNIST); " +
            $"training images {(o.TrainingCount == 0 ? "all 60,000" : o.TrainingCount.ToString(ci))}; Mahalanobis fitted on {(o.MahalanobisTrainingCount == 0 ? "all 60,000" : o.MahalanobisTrainingCount.ToString(ci))} training images; MC Dropout {o.Passes} passes; FSSD {o.Perturbation} step.");
        md.AppendLine();
        md.AppendLine("| method | AUROC | AUPRC | FPR80 | paper AUROC | paper AUPRC | paper FPR80 | FPR95 | seconds | settings |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
            md.AppendLine($"| {r.Method} | {P(r.AUROC)} | {P(r.AUPRC)} | {P(r.FPR80)} | {Paper(r.PaperAUROC) ?? "–"} | {Paper(r.PaperAUPRC) ?? "–"} | {Paper(r.PaperFPR80) ?? "–"} | {P(r.FPR95)} | {r.Seconds:F0}{(r.TrainingSeconds > 0 ? $" (+{r.TrainingSeconds:F0} training)" : "")} | {r.Settings} |");
        md.AppendLine();
        md.AppendLine("All values in %. AUPRC takes in-distribution as the positive class; FPR80 is the share of MNIST kept at 80% TPR. The paper has no Energy row.");
        md.AppendLine();
        if (result.TestScores.Count > 0)
        {
            md.AppendLine("![ROC curves](roc.png)");
            md.AppendLine();
        }
        if (result.TapScores.Count > 0)
        {
            md.AppendLine("## FSSD per tap (the paper's Figures 1 and 6)");
            md.AppendLine();
            foreach (var (tap, _, _) in result.TapScores) md.AppendLine($"![FSSD at {tap}](fssd-{tap}.png)");
            if (result.TestScores.Any(t => t.Method == "FSSD")) md.AppendLine("![FSSD-Ensem](fssd-ensemble.png)");
            md.AppendLine();
        }
        if (result.Robustness.Count > 0)
        {
            md.AppendLine("## Robustness (the paper's Figure 5): test inputs of both classes corrupted, models and calibration unchanged");
            md.AppendLine();
            var severities = result.Robustness.Where(r => r.Corruption != "None").Select(r => (r.Corruption, r.Level, r.Severity)).Distinct().OrderBy(t => t.Corruption).ThenBy(t => t.Level).ToList();
            md.AppendLine("| method | clean | " + string.Join(" | ", severities.Select(s => $"{(s.Corruption == "GaussianNoise" ? "Gauss" : "impulse")} {s.Severity.ToString("G3", ci)}")) + " |");
            md.AppendLine("|---|---|" + string.Concat(severities.Select(_ => "---|")));
            foreach (var method in result.Robustness.Select(r => r.Method).Distinct())
            {
                var rows = result.Robustness.Where(r => r.Method == method).ToList();
                md.AppendLine($"| {method} | {P(rows.First(r => r.Level == 0).AUROC)} | " +
                    string.Join(" | ", severities.Select(s => P(rows.First(r => r.Corruption == s.Corruption && r.Level == s.Level).AUROC))) + " |");
            }
            md.AppendLine();
            md.AppendLine($"AUROC in %, on {result.Robustness[0].InCount} + {result.Robustness[0].OutCount} test images. Severities as ImageNet-C's Gaussian and impulse noise (Hendrycks and Dietterich, 2019).");
            md.AppendLine();
            foreach (var (_, file) in robustnessCharts) md.AppendLine($"![{Path.GetFileNameWithoutExtension(file)}]({Path.GetFileName(file)})");
            md.AppendLine();
        }
        string report = Path.Combine(directory, "report.md");
        Persistence.AtomicFile.WriteAllText(report, md.ToString());
        files.Insert(0, report);
        return files;
    }
}
