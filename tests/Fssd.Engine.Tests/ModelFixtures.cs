using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Fssd.Engine.Models;
using Fssd.Engine.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>Reference outputs made by tests/fixtures/make_model_fixtures.py with PyTorch.</summary>
internal sealed class ModelReference
{
    public float[] Input = Array.Empty<float>();
    public long[] InputShape = Array.Empty<long>();
    public float[] Logits = Array.Empty<float>();
    public List<(string Name, float[] Values)> Taps = new();
    public float[] InputGradient = Array.Empty<float>();

    public static string FixturePath(string name) =>
        Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "models", name);

    public static ModelReference Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(FixturePath(name)));
        var root = doc.RootElement;
        float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        var r = new ModelReference
        {
            Input = Floats(root.GetProperty("input")),
            InputShape = root.GetProperty("input_shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(),
            Logits = Floats(root.GetProperty("logits")),
            InputGradient = Floats(root.GetProperty("input_gradient")),
        };
        foreach (var tap in root.GetProperty("taps").EnumerateObject())
            r.Taps.Add((tap.Name, Floats(tap.Value.GetProperty("values"))));
        return r;
    }

    /// <summary>Largest difference relative to the reference's scale (max |ref|, at least 1).</summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1.0, expected.Max(v => Math.Abs((double)v)));
        return expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max() / scale;
    }

    /// <summary>Checks logits, every referenced tap and the input gradient of sum_k sum_b ||tap_k||.</summary>
    public void Check(LoadedModel model, double tolerance = 1e-5)
    {
        using var scope = NewDisposeScope();
        var x = tensor(Input, InputShape).requires_grad_(true);
        using var output = model.Forward(x);
        double logitsError = RelativeError(output.Logits.detach().data<float>().ToArray(), Logits);
        Assert.True(logitsError <= tolerance, $"logits differ by {logitsError:E2}");
        Tensor? objective = null;
        foreach (var (name, values) in Taps)
        {
            var feature = output.Features[model.TapIndex(name)];
            double err = RelativeError(feature.detach().data<float>().ToArray(), values);
            Assert.True(err <= tolerance, $"tap {name} differs by {err:E2}");
            var norm = feature.norm(1).sum();
            objective = objective is null ? norm : objective + norm;
        }
        objective!.backward();
        double gradError = RelativeError(x.grad!.data<float>().ToArray(), InputGradient);
        Assert.True(gradError <= tolerance, $"input gradient differs by {gradError:E2}");
    }
}
