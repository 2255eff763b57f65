using System;
using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Calibration;

/// <summary>
/// L2-regularised logistic regression with an unpenalised intercept, the objective of scikit-learn's
/// LogisticRegression(penalty="l2", C): ½‖w‖² + C·Σ log(1 + exp(−yᵢ(xᵢ·w + b))), labels y ∈ {−1, +1}.
/// Solved by Newton's method with a backtracking line search: the features are few (one per tap),
/// so the exact Hessian is cheap and the optimum is reached to machine precision.
/// </summary>
public sealed class LogisticRegression
{
    private LogisticRegression(double[] weights, double intercept, double c, int iterations)
    {
        Weights = weights;
        Intercept = intercept;
        C = c;
        Iterations = iterations;
    }

    public double[] Weights { get; }
    public double Intercept { get; }
    public double C { get; }
    public int Iterations { get; }

    /// <summary>The log-odds that a row is positive.</summary>
    public double Decision(IReadOnlyList<double> row)
    {
        double z = Intercept;
        for (int j = 0; j < Weights.Length; j++) z += Weights[j] * row[j];
        return z;
    }

    /// <summary>Fits rows (n × d) with labels (true = positive).</summary>
    public static LogisticRegression Fit(IReadOnlyList<double[]> rows, IReadOnlyList<bool> labels, double c, int maxIterations = 100)
    {
        if (rows.Count == 0 || rows.Count != labels.Count) throw new ArgumentException("Rows and labels must be non-empty and of equal length.");
        if (c <= 0) throw new ArgumentOutOfRangeException(nameof(c), c, "C must be positive.");
        int n = rows.Count, d = rows[0].Length, p = d + 1;
        var theta = new double[p]; // weights then intercept
        int iteration = 0;
        double objective = Objective(rows, labels, theta, c);
        for (; iteration < maxIterations; iteration++)
        {
            var gradient = new double[p];
            var hessian = new double[p, p];
            for (int j = 0; j < d; j++)
            {
                gradient[j] = theta[j];
                hessian[j, j] = 1;
            }
            for (int i = 0; i < n; i++)
            {
                double y = labels[i] ? 1 : -1;
                double z = theta[d];
                for (int j = 0; j < d; j++) z += theta[j] * rows[i][j];
                double s = Sigmoid(-y * z);          // d/dz of log(1+exp(-yz)) is -y·σ(-yz)
                double weight = s * (1 - s);         // its second derivative
                for (int a = 0; a < p; a++)
                {
                    double xa = a < d ? rows[i][a] : 1;
                    gradient[a] += c * -y * s * xa;
                    for (int b = 0; b <= a; b++)
                    {
                        double xb = b < d ? rows[i][b] : 1;
                        hessian[a, b] += c * weight * xa * xb;
                    }
                }
            }
            for (int a = 0; a < p; a++)
                for (int b = 0; b < a; b++)
                    hessian[b, a] = hessian[a, b];
            double gradientNorm = Math.Sqrt(gradient.Sum(g => g * g));
            if (gradientNorm < 1e-12 * Math.Max(1, c * n)) break;
            var step = Solve(hessian, gradient);
            double t = 1;
            double next;
            var candidate = new double[p];
            while (true)
            {
                for (int a = 0; a < p; a++) candidate[a] = theta[a] - t * step[a];
                next = Objective(rows, labels, candidate, c);
                if (next <= objective || t < 1e-10) break;
                t /= 2;
            }
            Array.Copy(candidate, theta, p);
            bool converged = Math.Abs(objective - next) <= 1e-15 * Math.Max(1, Math.Abs(objective));
            objective = next;
            if (converged) break;
        }
        return new LogisticRegression(theta[..d], theta[d], c, iteration);
    }

    private static double Objective(IReadOnlyList<double[]> rows, IReadOnlyList<bool> labels, double[] theta, double c)
    {
        int d = theta.Length - 1;
        double penalty = 0;
        for (int j = 0; j < d; j++) penalty += theta[j] * theta[j];
        double loss = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            double z = theta[d];
            for (int j = 0; j < d; j++) z += theta[j] * rows[i][j];
            loss += LogOnePlusExp(-(labels[i] ? 1 : -1) * z);
        }
        return 0.5 * penalty + c * loss;
    }

    private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    private static double LogOnePlusExp(double z) => z > 0 ? z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z));

    /// <summary>Solves H x = g for a symmetric positive-definite H (Cholesky).</summary>
    private static double[] Solve(double[,] h, double[] g)
    {
        int p = g.Length;
        var l = new double[p, p];
        for (int i = 0; i < p; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = h[i, j];
                for (int k = 0; k < j; k++) sum -= l[i, k] * l[j, k];
                if (i == j) l[i, i] = Math.Sqrt(Math.Max(sum, 1e-300));
                else l[i, j] = sum / l[j, j];
            }
        }
        var y = new double[p];
        for (int i = 0; i < p; i++)
        {
            double sum = g[i];
            for (int k = 0; k < i; k++) sum -= l[i, k] * y[k];
            y[i] = sum / l[i, i];
        }
        var x = new double[p];
        for (int i = p - 1; i >= 0; i--)
        {
            double sum = y[i];
            for (int k = i + 1; k < p; k++) sum -= l[k, i] * x[k];
            x[i] = sum / l[i, i];
        }
        return x;
    }
}

/// <summary>Per-feature standardization as scikit-learn's StandardScaler: mean and population std (ddof 0).</summary>
public sealed class FeatureScaling
{
    public FeatureScaling(double[] mean, double[] std)
    {
        Mean = mean;
        Std = std;
    }

    public double[] Mean { get; }
    public double[] Std { get; }

    public static FeatureScaling Fit(IReadOnlyList<double[]> rows)
    {
        int d = rows[0].Length, n = rows.Count;
        var mean = new double[d];
        var std = new double[d];
        for (int j = 0; j < d; j++)
        {
            mean[j] = rows.Average(r => r[j]);
            double variance = rows.Sum(r => (r[j] - mean[j]) * (r[j] - mean[j])) / n;
            std[j] = variance > 0 ? Math.Sqrt(variance) : 1;
        }
        return new FeatureScaling(mean, std);
    }

    public double[] Apply(double[] row)
    {
        var z = new double[row.Length];
        for (int j = 0; j < row.Length; j++) z[j] = (row[j] - Mean[j]) / Std[j];
        return z;
    }
}

/// <summary>
/// Chooses C by stratified k-fold cross-validation inside the data (folds as scikit-learn's
/// StratifiedKFold without shuffling assigns them), scoring each C by the mean held-out log-loss, then
/// refits on all the data — the paper's nested cross-validation of the layer weights.
/// </summary>
public static class RegularizationSearch
{
    /// <summary>scikit-learn's LogisticRegressionCV default grid: 10 values from 1e-4 to 1e4.</summary>
    public static readonly double[] DefaultGrid = Enumerable.Range(0, 10).Select(i => Math.Pow(10, -4 + 8.0 * i / 9)).ToArray();

    public const int DefaultFolds = 5;

    public static (LogisticRegression Model, double[] MeanLogLoss) FitWithCrossValidation(
        IReadOnlyList<double[]> rows, IReadOnlyList<bool> labels, IReadOnlyList<double>? grid = null, int folds = DefaultFolds)
    {
        grid ??= DefaultGrid;
        var fold = StratifiedFolds(labels, folds);
        var losses = new double[grid.Count];
        for (int g = 0; g < grid.Count; g++)
        {
            double total = 0;
            for (int k = 0; k < folds; k++)
            {
                var trainIdx = Enumerable.Range(0, rows.Count).Where(i => fold[i] != k).ToArray();
                var testIdx = Enumerable.Range(0, rows.Count).Where(i => fold[i] == k).ToArray();
                var model = LogisticRegression.Fit(trainIdx.Select(i => rows[i]).ToList(), trainIdx.Select(i => labels[i]).ToList(), grid[g]);
                double loss = 0;
                foreach (int i in testIdx)
                {
                    double z = model.Decision(rows[i]);
                    loss += labels[i] ? LogLoss(z) : LogLoss(-z);
                }
                total += loss / testIdx.Length;
            }
            losses[g] = total / folds;
        }
        int best = 0;
        for (int g = 1; g < grid.Count; g++) if (losses[g] < losses[best]) best = g;
        return (LogisticRegression.Fit(rows, labels, grid[best]), losses);
    }

    /// <summary>Fold of each sample: per class, samples in order fill folds 0, 1, … with sizes as StratifiedKFold's.</summary>
    public static int[] StratifiedFolds(IReadOnlyList<bool> labels, int folds)
    {
        int n = labels.Count;
        // Classes in sorted order (false, true); allocation[f, k] = count of class k in y_sorted[f::folds].
        var sorted = labels.Select(l => l ? 1 : 0).OrderBy(v => v).ToArray();
        var allocation = new int[folds, 2];
        for (int f = 0; f < folds; f++)
            for (int i = f; i < n; i += folds)
                allocation[f, sorted[i]]++;
        var result = new int[n];
        for (int k = 0; k < 2; k++)
        {
            var ids = new List<int>();
            for (int f = 0; f < folds; f++) ids.AddRange(Enumerable.Repeat(f, allocation[f, k]));
            int next = 0;
            for (int i = 0; i < n; i++)
                if ((labels[i] ? 1 : 0) == k) result[i] = ids[next++];
        }
        return result;
    }

    private static double LogLoss(double z) => z > 0 ? Math.Log(1 + Math.Exp(-z)) : -z + Math.Log(1 + Math.Exp(z));
}
