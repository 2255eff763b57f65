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
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private static string P(double v) => (v * 100).ToString("F1", Ci);
    private static string? Paper(double? v) => v is double d ? (d * 100).ToString("F1", Ci) : null;

    /// <summary>Writes report.md and its charts into <paramref name="directory"/>; returns the files written.</summary>
    public static List<string> Write(BenchmarkResult result, string directory) => Write(new[] { result }, directory);

    /// <summary>Writes one report for the results of one benchmark (one section per variant, e.g. the held-out classes' halves).</summary>
    public static List<string> Write(IReadOnlyList<BenchmarkResult> results, string directory)
    {
        if (results.Count == 0) throw new ArgumentException("No result to report.", nameof(results));
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        var md = new StringBuilder();
        var first = results[0];
        md.AppendLine($"# FSSD benchmark: {Title(first)}");
        md.AppendLine();
        md.AppendLine($"Run {first.StartedUtc:yyyy-MM-dd HH:mm} UTC on {first.Machine}; {results.Sum(r => r.Seconds):F0} s in all.");
        foreach (var result in results)
        {
            string prefix = result.Variant.Length == 0 ? "" : Slug(result.Variant) + "-";
            if (result.Variant.Length > 0)
            {
                md.AppendLine();
                md.AppendLine($"## {result.Variant}");
            }
            md.AppendLine();
            Section(result, directory, prefix, md, files);
        }
        string report = Path.Combine(directory, "report.md");
        Persistence.AtomicFile.WriteAllText(report, md.ToString());
        files.Insert(0, report);
        return files;
    }

    private static string Title(BenchmarkResult r) => r.Benchmark switch
    {
        FashionMnistCorrupted.Name => "FashionMNIST vs. corrupted copies of itself (LeNet; the paper's benchmark D and Figure 4)",
        FashionMnistHeldOutClasses.Name => "FashionMNIST, five classes vs. the other five (LeNet; the paper's benchmark C and Figure 6)",
        _ => $"{r.InName} vs. {r.OutName} (LeNet)",
    };

    private static string Slug(string text) =>
        new string(text.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Replace("--", "-").Trim('-');

    private static void Section(BenchmarkResult result, string directory, string prefix, StringBuilder md, List<string> files)
    {
        var o = result.Options;
        string inLabel = result.InName, outLabel = result.OutName;
        string heading = result.Variant.Length == 0 ? "##" : "###";
        var row0 = result.Rows.FirstOrDefault();
        if (result.Benchmark != FashionMnistCorrupted.Name)
            md.AppendLine($"Validation: {result.ValidationCount} + {result.ValidationCount} images drawn with seed {o.Seed}; test: {row0?.InCount} {inLabel} + {row0?.OutCount} {outLabel} images.");
        md.AppendLine($"Deep Ensemble: {o.EnsembleMembers} LeNets, {o.EnsembleEpochs} epoch(s) each; outlier exposure: {o.OutlierExposureEpochs} epoch(s) of fine-tuning with the Kana set (a KMNIST-like set drawn from Debian's Japanese fonts; the paper used KMNIST); " +
            $"training images {(o.TrainingCount == 0 ? "all" : o.TrainingCount.ToString(Ci))}; Mahalanobis fitted on {(o.MahalanobisTrainingCount == 0 ? "all" : o.MahalanobisTrainingCount.ToString(Ci))} training images; MC Dropout {o.Passes} passes; FSSD {o.Perturbation} step.");
        foreach (var note in result.Notes) md.AppendLine(note);
        md.AppendLine();

        bool paper = result.Rows.Any(r => r.PaperAUROC is not null);
        if (paper)
        {
            md.AppendLine("| method | AUROC | AUPRC | FPR80 | paper AUROC | paper AUPRC | paper FPR80 | FPR95 | seconds | settings |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        }
        else
        {
            md.AppendLine("| method | AUROC | AUPRC | FPR80 | FPR95 | seconds | settings |");
            md.AppendLine("|---|---|---|---|---|---|---|");
        }
        foreach (var r in result.Rows)
        {
            string seconds = $"{r.Seconds:F0}{(r.TrainingSeconds > 0 ? $" (+{r.TrainingSeconds:F0} training)" : "")}";
            md.AppendLine(paper
                ? $"| {r.Method} | {P(r.AUROC)} | {P(r.AUPRC)} | {P(r.FPR80)} | {Paper(r.PaperAUROC) ?? "–"} | {Paper(r.PaperAUPRC) ?? "–"} | {Paper(r.PaperFPR80) ?? "–"} | {P(r.FPR95)} | {seconds} | {r.Settings} |"
                : $"| {r.Method} | {P(r.AUROC)} | {P(r.AUPRC)} | {P(r.FPR80)} | {P(r.FPR95)} | {seconds} | {r.Settings} |");
        }
        md.AppendLine();
        md.AppendLine($"All values in %. AUPRC takes in-distribution as the positive class; FPR80 is the share of OoD inputs kept at 80% TPR." +
            (result.Benchmark == FashionMnistCorrupted.Name ? " Each is the mean over every corruption kind and level." : "") +
            (paper ? " The paper has no Energy row." : ""));
        md.AppendLine();

        if (result.TestScores.Count > 0)
        {
            string roc = Path.Combine(directory, prefix + "roc.png");
            Charts.Roc(result.TestScores.Select(t => (t.Method, (IReadOnlyList<double>)t.In, (IReadOnlyList<double>)t.Out)).ToList(), roc,
                result.Benchmark == FashionMnistCorrupted.Name ? "ROC: clean FashionMNIST vs. all corrupted copies pooled" : $"ROC: {inLabel} (in) vs {outLabel} (OoD), LeNet");
            files.Add(roc);
            md.AppendLine($"![ROC curves]({Path.GetFileName(roc)})");
            md.AppendLine();
        }

        if (result.Benchmark == FashionMnistCorrupted.Name) CorruptionSection(result, directory, heading, md, files);

        if (result.TapScores.Count > 0)
        {
            md.AppendLine($"{heading} FSSD per tap (the paper's Figures 1 and 6)");
            md.AppendLine();
            md.AppendLine("| tap | AUROC of FSSD at eps 0 alone |");
            md.AppendLine("|---|---|");
            foreach (var (tap, scoresIn, scoresOut) in result.TapScores)
                md.AppendLine($"| {tap} | {P(Metrics.OodMetrics.Compute(scoresIn, scoresOut, tap).AUROC)} |");
            md.AppendLine();
            foreach (var (tap, scoresIn, scoresOut) in result.TapScores)
            {
                string file = Path.Combine(directory, $"{prefix}fssd-{tap}.png");
                Charts.Histogram(scoresIn, scoresOut, file, $"FSSD at {tap}: {inLabel} vs {outLabel}", $"FSSD at {tap} (eps 0)", inLabel, outLabel);
                files.Add(file);
                md.AppendLine($"![FSSD at {tap}]({Path.GetFileName(file)})");
            }
            var fssd = result.TestScores.FirstOrDefault(t => t.Method == "FSSD");
            if (fssd.In is not null)
            {
                string hist = Path.Combine(directory, prefix + "fssd-ensemble.png");
                Charts.Histogram(fssd.In, fssd.Out, hist, $"FSSD-Ensem score: {inLabel} vs {outLabel}", "FSSD-Ensem score (log-odds of in-distribution)", inLabel, outLabel);
                files.Add(hist);
                md.AppendLine($"![FSSD-Ensem]({Path.GetFileName(hist)})");
            }
            md.AppendLine();
        }

        if (result.Robustness.Count > 0 && result.Benchmark != FashionMnistCorrupted.Name) RobustnessSection(result, directory, heading, md, files);
    }

    private static void CorruptionSection(BenchmarkResult result, string directory, string heading, StringBuilder md, List<string> files)
    {
        var methods = result.Rows.Select(r => r.Method).ToList();
        var kinds = result.Robustness.Select(r => r.Corruption).Distinct().ToList();
        var levels = Enumerable.Range(1, 5).ToList();
        IReadOnlyList<double> Aurocs(string method, int level) =>
            result.Robustness.Where(r => r.Method == method && r.Level == level).Select(r => r.AUROC).OrderBy(a => a).ToList();

        string chart = Path.Combine(directory, "corruption-levels.png");
        Charts.LevelBoxes(methods.Select(m => (m, (IReadOnlyList<IReadOnlyList<double>>)levels.Select(l => Aurocs(m, l)).ToList())).ToList(),
            levels.Select(l => $"level {l}").ToList(), chart, $"AUROC of clean vs corrupted FashionMNIST over {kinds.Count} corruption kinds (the paper's Figure 4)");
        files.Add(chart);

        md.AppendLine($"{heading} AUROC by level over {kinds.Count} corruption kinds (the paper's Figure 4)");
        md.AppendLine();
        md.AppendLine("Mean, then first quartile – median – third quartile over the kinds, in %.");
        md.AppendLine();
        md.AppendLine("| method | " + string.Join(" | ", levels.Select(l => $"level {l}")) + " | all levels |");
        md.AppendLine("|---|" + string.Concat(levels.Select(_ => "---|")) + "---|");
        foreach (var m in methods)
        {
            string Cell(IReadOnlyList<double> a) =>
                $"{P(a.Average())} ({P(Charts.Quantile(a, 0.25))}–{P(Charts.Quantile(a, 0.5))}–{P(Charts.Quantile(a, 0.75))})";
            var everything = result.Robustness.Where(r => r.Method == m).Select(r => r.AUROC).OrderBy(a => a).ToList();
            md.AppendLine($"| {m} | " + string.Join(" | ", levels.Select(l => Cell(Aurocs(m, l)))) + $" | {Cell(everything)} |");
        }
        md.AppendLine();
        md.AppendLine("![AUROC by level](corruption-levels.png)");
        md.AppendLine();
        md.AppendLine($"{heading} AUROC per corruption kind and level");
        md.AppendLine();
        md.AppendLine($"Clean test images (in) against their copies corrupted by one kind at one level (OoD), {result.Robustness[0].InCount} + {result.Robustness[0].OutCount} images; AUROC in %.");
        md.AppendLine();
        md.AppendLine("| kind | level | parameter | " + string.Join(" | ", methods) + " |");
        md.AppendLine("|---|---|---|" + string.Concat(methods.Select(_ => "---|")));
        foreach (var kind in kinds)
            foreach (var level in levels)
            {
                var cells = methods.Select(m => result.Robustness.FirstOrDefault(r => r.Method == m && r.Corruption == kind && r.Level == level)).ToList();
                if (cells.All(c => c is null)) continue;
                double severity = cells.First(c => c is not null)!.Severity;
                md.AppendLine($"| {kind} | {level} | {severity.ToString("G3", Ci)} | " + string.Join(" | ", cells.Select(c => c is null ? "–" : P(c.AUROC))) + " |");
            }
        md.AppendLine();
    }

    private static void RobustnessSection(BenchmarkResult result, string directory, string heading, StringBuilder md, List<string> files)
    {
        var robustnessCharts = new List<string>();
        foreach (var kind in new[] { "GaussianNoise", "ImpulseNoise" })
        {
            var rows = result.Robustness.Where(r => r.Corruption == kind || r.Corruption == "None").ToList();
            if (rows.Count == 0) continue;
            var levels = rows.Select(r => r.Level).Distinct().OrderBy(l => l).ToList();
            var labels = levels.Select(l => l == 0 ? "clean" : rows.First(r => r.Level == l && r.Corruption == kind).Severity.ToString("G3", Ci)).ToList();
            var lines = rows.Select(r => r.Method).Distinct().Select(m => (m, (IReadOnlyList<double>)levels.Select(l => rows.First(r => r.Method == m && r.Level == l).AUROC).ToList())).ToList();
            string file = Path.Combine(directory, $"robustness-{kind}.png");
            Charts.Levels(lines, labels, file, $"AUROC under {(kind == "GaussianNoise" ? "Gaussian noise (sigma)" : "impulse noise (share of pixels)")}");
            files.Add(file);
            robustnessCharts.Add(file);
        }
        md.AppendLine($"{heading} Robustness (the paper's Figure 5): test inputs of both classes corrupted, models and calibration unchanged");
        md.AppendLine();
        var severities = result.Robustness.Where(r => r.Corruption != "None").Select(r => (r.Corruption, r.Level, r.Severity)).Distinct().OrderBy(t => t.Corruption).ThenBy(t => t.Level).ToList();
        md.AppendLine("| method | clean | " + string.Join(" | ", severities.Select(s => $"{(s.Corruption == "GaussianNoise" ? "Gauss" : "impulse")} {s.Severity.ToString("G3", Ci)}")) + " |");
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
        foreach (var file in robustnessCharts) md.AppendLine($"![{Path.GetFileNameWithoutExtension(file)}]({Path.GetFileName(file)})");
        md.AppendLine();
    }
}
