using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Metrics;
using ScottPlot;

namespace Fssd.Engine.Reporting;

/// <summary>
/// The benchmark's and the histogram cmdlet's PNG charts, drawn with ScottPlot 5 on SkiaSharp: score
/// histograms of two sets, ROC curves of several methods, AUROC against corruption level.
/// </summary>
public static class Charts
{
    private static readonly object Gate = new();
    private static bool _fontReady;
    private static string? _fontName;

    /// <summary>
    /// ScottPlot finds fonts through the system; where that finds none (no fontconfig), a font file the
    /// machine has is registered by path.
    /// </summary>
    private static void EnsureFont()
    {
        lock (Gate)
        {
            if (_fontReady) return;
            Runtime.NativeRuntime.EnsureTextLoaded();
            string[] candidates =
            {
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
                "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
                Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.Fonts), "arial.ttf"),
                Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.Fonts), "segoeui.ttf"),
            };
            var file = candidates.FirstOrDefault(File.Exists);
            if (file is not null)
            {
                Fonts.AddFontFile("Fssd Sans", file);
                Fonts.Default = "Fssd Sans";
                _fontName = "Fssd Sans";
            }
            _fontReady = true;
        }
    }

    private static readonly Color[] Palette =
    {
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"),
        Color.FromHex("#bcbd22"), Color.FromHex("#17becf"),
    };

    /// <summary>Two overlaid, normalised histograms (density) of in-distribution and OoD scores, with the AUROC in the title.</summary>
    public static void Histogram(IReadOnlyList<double> inDistribution, IReadOnlyList<double> outOfDistribution, string path, string title,
        string xLabel = "score", string inLabel = "in-distribution", string outLabel = "OoD", int bins = 50, int width = 800, int height = 500)
    {
        if (inDistribution.Count == 0 || outOfDistribution.Count == 0) throw new ArgumentException("Both sets of scores need at least one value.");
        EnsureFont();
        var all = inDistribution.Concat(outOfDistribution).Where(double.IsFinite).ToArray();
        if (all.Length == 0) throw new ArgumentException("No finite score to draw.");
        double min = all.Min(), max = all.Max();
        if (max <= min) max = min + 1;
        var plot = new Plot();
        foreach (var (values, label, color) in new[] { (inDistribution, inLabel, Palette[0]), (outOfDistribution, outLabel, Palette[3]) })
        {
            var histogram = ScottPlot.Statistics.Histogram.WithBinCount(bins, min, max);
            histogram.AddRange(values.Where(double.IsFinite));
            var density = histogram.GetProbability();
            var bars = histogram.Bins.Select((left, i) => new Bar
            {
                Position = left + histogram.FirstBinSize / 2, Value = density[i], Size = histogram.FirstBinSize,
                FillColor = color.WithAlpha(0.45), LineWidth = 0,
            }).ToList();
            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = $"{label} ({values.Count})";
        }
        double auroc = OodMetrics.Compute(inDistribution, outOfDistribution, "").AUROC;
        plot.Title($"{title}  (AUROC {auroc:P2})");
        plot.XLabel(xLabel);
        plot.YLabel("share of inputs per bin");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, width, height);
    }

    /// <summary>ROC curves (true-positive rate of in-distribution inputs against false-positive rate of OoD inputs), one per method.</summary>
    public static void Roc(IReadOnlyList<(string Name, IReadOnlyList<double> In, IReadOnlyList<double> Out)> methods, string path, string title,
        int width = 800, int height = 700)
    {
        EnsureFont();
        var plot = new Plot();
        for (int m = 0; m < methods.Count; m++)
        {
            var (name, scoresIn, scoresOut) = methods[m];
            var (fpr, tpr) = RocCurve(scoresIn, scoresOut);
            var line = plot.Add.ScatterLine(fpr, tpr);
            line.Color = Palette[m % Palette.Length];
            line.LineWidth = 2;
            line.LegendText = $"{name} ({OodMetrics.Compute(scoresIn, scoresOut, "").AUROC:P1})";
        }
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.Color = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        plot.Axes.SetLimits(0, 1, 0, 1.01);
        plot.Title(title);
        plot.XLabel("false-positive rate (OoD inputs kept)");
        plot.YLabel("true-positive rate (in-distribution inputs kept)");
        plot.ShowLegend(Alignment.LowerRight);
        Save(plot, path, width, height);
    }

    /// <summary>AUROC against corruption level (0 = clean), one line per method.</summary>
    public static void Levels(IReadOnlyList<(string Name, IReadOnlyList<double> Auroc)> methods, IReadOnlyList<string> levelLabels, string path, string title,
        int width = 800, int height = 500)
    {
        EnsureFont();
        var plot = new Plot();
        double[] xs = Enumerable.Range(0, levelLabels.Count).Select(i => (double)i).ToArray();
        for (int m = 0; m < methods.Count; m++)
        {
            var line = plot.Add.Scatter(xs, methods[m].Auroc.Select(a => a * 100).ToArray());
            line.Color = Palette[m % Palette.Length];
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.LegendText = methods[m].Name;
        }
        plot.Axes.Bottom.SetTicks(xs, levelLabels.ToArray());
        plot.Title(title);
        plot.XLabel("corruption level");
        plot.YLabel("AUROC (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        Save(plot, path, width, height);
    }

    /// <summary>
    /// The paper's Figure 4: per level, one box per method over the kinds' AUROC (quartiles as the box,
    /// the median as its line, the range as whiskers) and the mean as a black dot.
    /// </summary>
    /// <param name="methods">Per method, per level, the AUROC of every kind.</param>
    public static void LevelBoxes(IReadOnlyList<(string Name, IReadOnlyList<IReadOnlyList<double>> ByLevel)> methods, IReadOnlyList<string> levelLabels,
        string path, string title, int width = 1100, int height = 600)
    {
        EnsureFont();
        var plot = new Plot();
        int m = methods.Count;
        double slot = 0.8 / Math.Max(1, m);
        var meanXs = new List<double>();
        var meanYs = new List<double>();
        for (int k = 0; k < m; k++)
        {
            var color = Palette[k % Palette.Length];
            var boxes = new List<Box>();
            for (int level = 0; level < levelLabels.Count; level++)
            {
                var values = methods[k].ByLevel[level].Select(a => a * 100).OrderBy(v => v).ToArray();
                if (values.Length == 0) continue;
                double x = level - 0.4 + slot * (k + 0.5);
                boxes.Add(new Box
                {
                    Position = x, Width = slot * 0.8,
                    BoxMin = Quantile(values, 0.25), BoxMax = Quantile(values, 0.75), BoxMiddle = Quantile(values, 0.5),
                    WhiskerMin = values[0], WhiskerMax = values[^1], FillColor = color.WithAlpha(0.6), LineColor = color,
                });
                meanXs.Add(x);
                meanYs.Add(values.Average());
            }
            var plotted = plot.Add.Boxes(boxes);
            plotted.LegendText = methods[k].Name;
        }
        var means = plot.Add.Markers(meanXs.ToArray(), meanYs.ToArray(), MarkerShape.FilledCircle, 4, Colors.Black);
        means.LegendText = "mean";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, levelLabels.Count).Select(i => (double)i).ToArray(), levelLabels.ToArray());
        plot.Title(title);
        plot.XLabel("corruption level");
        plot.YLabel("AUROC (%) over corruption kinds");
        plot.Axes.SetLimitsY(0, 102);
        plot.ShowLegend(Edge.Right);
        Save(plot, path, width, height);
    }

    /// <summary>Two point clouds (in-distribution, OoD) in a plane, with one marked point (the centre F*).</summary>
    public static void Scatter(IReadOnlyList<double[]> inPoints, IReadOnlyList<double[]> outPoints, double[] center, string path, string title,
        string inLabel, string outLabel, string centerLabel, int width = 700, int height = 600)
    {
        EnsureFont();
        var plot = new Plot();
        foreach (var (points, label, color) in new[] { (inPoints, inLabel, Palette[0]), (outPoints, outLabel, Palette[3]) })
        {
            var markers = plot.Add.Markers(points.Select(p => p[0]).ToArray(), points.Select(p => p[1]).ToArray(), MarkerShape.FilledCircle, 3, color.WithAlpha(0.5));
            markers.LegendText = $"{label} ({points.Count})";
        }
        var star = plot.Add.Marker(center[0], center[1], MarkerShape.FilledDiamond, 12, Colors.Black);
        star.LegendText = centerLabel;
        plot.Title(title);
        plot.XLabel("first principal component");
        plot.YLabel("second principal component");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, width, height);
    }

    /// <summary>Lines of values against x, one per series (not scaled).</summary>
    public static void Series(IReadOnlyList<(string Name, IReadOnlyList<double> Values)> series, IReadOnlyList<double> xs, string path, string title,
        string xLabel, string yLabel, int width = 800, int height = 500)
    {
        EnsureFont();
        var plot = new Plot();
        for (int m = 0; m < series.Count; m++)
        {
            var line = plot.Add.Scatter(xs.ToArray(), series[m].Values.ToArray());
            line.Color = Palette[m % Palette.Length];
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.LegendText = series[m].Name;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, width, height);
    }

    /// <summary>Linear interpolation between order statistics (NumPy's default) of sorted values.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) throw new ArgumentException("No values.", nameof(sorted));
        double position = q * (sorted.Count - 1);
        int low = (int)Math.Floor(position), high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /// <summary>The ROC curve's points: thresholds at every distinct score, from the highest down.</summary>
    public static (double[] Fpr, double[] Tpr) RocCurve(IReadOnlyList<double> scoresIn, IReadOnlyList<double> scoresOut)
    {
        var all = scoresIn.Select(s => (Score: s, In: true)).Concat(scoresOut.Select(s => (Score: s, In: false))).OrderByDescending(p => p.Score).ToArray();
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        int tp = 0, fp = 0;
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i].In) tp++; else fp++;
            if (i + 1 < all.Length && all[i + 1].Score == all[i].Score) continue;
            fpr.Add((double)fp / scoresOut.Count);
            tpr.Add((double)tp / scoresIn.Count);
        }
        return (fpr.ToArray(), tpr.ToArray());
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        // Titles, labels, ticks and legend in the one registered face.
        if (_fontName is not null) plot.Font.Set(_fontName);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        Persistence.AtomicFile.WriteAllBytes(path, png);
    }
}
