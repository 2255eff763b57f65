using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Fssd.Engine.Calibration;
using Xunit;

namespace Fssd.Engine.Tests;

public class CalibrationTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        using var doc = Fixture();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonDocument Fixture() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "calibration", "logistic.json")));

    private static (double[][] Rows, bool[] Labels, JsonElement Case) Load(JsonDocument doc, string name)
    {
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var rows = c.GetProperty("rows").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var labels = c.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32() == 1).ToArray();
        return (rows, labels, c);
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static void Close(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scaling_and_fixed_C_fits_match_scikit_learn_within_1e4(string name)
    {
        using var doc = Fixture();
        var (rows, labels, c) = Load(doc, name);
        var scaling = FeatureScaling.Fit(rows);
        Close(Doubles(c.GetProperty("mean")), scaling.Mean, 1e-9, "scaling.Mean");
        Close(Doubles(c.GetProperty("std")), scaling.Std, 1e-9, "scaling.Std");
        var z = rows.Select(scaling.Apply).ToArray();
        foreach (var fit in c.GetProperty("fits").EnumerateArray())
        {
            var model = LogisticRegression.Fit(z, labels, fit.GetProperty("c").GetDouble());
            Close(Doubles(fit.GetProperty("weights")), model.Weights, 1e-4, "model.Weights");
            Assert.Equal(fit.GetProperty("intercept").GetDouble(), model.Intercept, 1e-4);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cross_validation_chooses_the_C_scikit_learn_chooses_and_refits_to_its_coefficients(string name)
    {
        using var doc = Fixture();
        var (rows, labels, c) = Load(doc, name);
        var scaling = FeatureScaling.Fit(rows);
        var z = rows.Select(scaling.Apply).ToArray();
        var cv = c.GetProperty("cv");
        Assert.Equal(cv.GetProperty("folds").EnumerateArray().Select(v => v.GetInt32()).ToArray(), RegularizationSearch.StratifiedFolds(labels, 5));
        Close(Doubles(cv.GetProperty("grid")), RegularizationSearch.DefaultGrid, 1e-12, "RegularizationSearch.DefaultGrid");
        var (model, _) = RegularizationSearch.FitWithCrossValidation(z, labels);
        Assert.Equal(cv.GetProperty("c").GetDouble(), model.C, 1e-12);
        Close(Doubles(cv.GetProperty("weights")), model.Weights, 1e-4, "model.Weights");
        Assert.Equal(cv.GetProperty("intercept").GetDouble(), model.Intercept, 1e-4);
    }
}
