using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fssd.Engine.Models.Onnx;
using Xunit;
using static TorchSharp.torch;

namespace Fssd.Engine.Tests;

/// <summary>
/// Every supported operator against ONNX's own node tests (Debian's libonnx-testdata, which build.ps1's
/// Install-TestData installs): each case is a one-node model.onnx with test_data_set_*/input_N.pb and
/// the reference implementation's output_N.pb.
/// </summary>
public class OnnxOperatorTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public OnnxOperatorTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
    }

    internal const string TestDataRoot = "/usr/share/libonnx-testdata/data";

    internal static string CasePath(string name)
    {
        string path = Path.Combine(TestDataRoot, name);
        Assert.True(Directory.Exists(path), $"'{path}' is missing: install Debian's libonnx-testdata (build.ps1 Test does).");
        return path;
    }

    /// <summary>Runs a case's model on each of its data sets; returns the largest error relative to max(1, |reference|).</summary>
    internal static double RunCase(string name)
    {
        _ = Fssd.Engine.Runtime.FssdSession.Current;
        string dir = CasePath(name);
        var program = OnnxProgram.FromFile(OnnxFile.Read(Path.Combine(dir, "model.onnx")), name);
        using var network = new OnnxNetwork(program, name);
        double worst = 0;
        var sets = Directory.GetDirectories(dir, "test_data_set_*");
        Assert.NotEmpty(sets);
        foreach (string set in sets)
        {
            using var scope = NewDisposeScope();
            var inputs = new Dictionary<string, Tensor>();
            for (int i = 0; i < program.Inputs.Count; i++)
            {
                string file = Path.Combine(set, $"input_{i}.pb");
                if (File.Exists(file)) inputs[program.Inputs[i].Name] = OnnxNetwork.ToTensor(OnnxFile.ReadTensorFile(file));
            }
            var outputs = network.Run(inputs, program.Outputs);
            for (int o = 0; o < program.Outputs.Count; o++)
            {
                var expected = OnnxFile.ReadTensorFile(Path.Combine(set, $"output_{o}.pb"));
                var actual = outputs[program.Outputs[o]];
                Assert.True(expected.Dims.SequenceEqual(actual.shape),
                    $"{name} output {o}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.Dims)}]");
                double[] want = expected.Floats?.Select(v => (double)v).ToArray() ?? expected.Longs!.Select(v => (double)v).ToArray();
                if (actual.numel() == 0) continue;
                double[] got = actual.to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
                for (int k = 0; k < want.Length; k++)
                {
                    if (double.IsNaN(want[k]) && double.IsNaN(got[k])) continue;
                    if (double.IsInfinity(want[k]) && want[k] == got[k]) continue;
                    worst = Math.Max(worst, Math.Abs(want[k] - got[k]) / Math.Max(1, Math.Abs(want[k])));
                }
            }
        }
        return worst;
    }

    /// <summary>Cases left out, by a part of their name, and why: what the module does not compute.</summary>
    private static readonly (string Pattern, string Reason)[] LeftOut =
    {
        ("_uint8", "uint8 data"),
        ("_int8_", "int8 data"),
        ("cast", "casts from or to float16, bfloat16, float64 or strings"),
        ("training", "training mode"),
        ("with_argmax", "MaxPool's indices output"),
        ("sequence", "sequences"),
        ("identity_opt", "optional values"),
        ("test_operator_add_broadcast", "float64 data"),
        ("test_operator_add_size1_", "float64 data"),
        ("test_operator_addconstant", "a float64 constant"),
    };

    /// <summary>The folders of ONNX's test data whose cases are single operators or small PyTorch exports.</summary>
    private static readonly string[] Suites = { "node", "pytorch-converted", "pytorch-operator" };

    /// <summary>Every case whose graph uses only operators the module runs, less those <see cref="LeftOut"/> says.</summary>
    public static IEnumerable<object[]> Cases()
    {
        if (!Directory.Exists(TestDataRoot))
        {
            // One case that fails and says what is missing, rather than a theory with no data.
            yield return new object[] { "node/test_relu" };
            yield break;
        }
        foreach (string suite in Suites)
            foreach (string dir in Directory.GetDirectories(Path.Combine(TestDataRoot, suite)).OrderBy(d => d, StringComparer.Ordinal))
            {
                string name = suite + "/" + Path.GetFileName(dir);
                if (LeftOut.Any(l => name.Contains(l.Pattern, StringComparison.Ordinal))) continue;
                if (Operators(name) is { } ops && !ops.IsSubsetOf(OnnxOperators.Supported)) continue;
                yield return new object[] { name };
            }
    }

    /// <summary>The operators a case's graph uses; null when the model does not parse (the case then runs, and fails saying why).</summary>
    private static HashSet<string>? Operators(string name)
    {
        try
        {
            return OnnxFile.Read(Path.Combine(TestDataRoot, name, "model.onnx")).Graph.Nodes.Select(n => n.OpType).ToHashSet();
        }
        catch (FssdModelException)
        {
            return null;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Operator_matches_the_ONNX_reference_output_within_1e_5(string name)
    {
        double error = RunCase(name);
        _output.WriteLine($"{name}: {error:E2}");
        Assert.True(error <= 1e-5, $"{name}: the largest difference from ONNX's reference output is {error:E2} (relative to max(1, |reference|))");
    }

    [Fact]
    public void Every_supported_operator_but_Cast_has_ONNX_reference_cases()
    {
        CasePath("node");
        var cases = Cases().Select(c => (string)c[0]).ToList();
        var covered = cases.SelectMany(c => Operators(c) ?? new HashSet<string>()).ToHashSet();
        // Cast's cases all involve types the module does not compute; OnnxModelTests checks it against ONNX Runtime.
        var missing = OnnxOperators.Supported.Where(o => o != "Cast" && !covered.Contains(o)).ToList();
        Assert.True(missing.Count == 0, "no ONNX reference case for " + string.Join(", ", missing));
        Assert.True(cases.Count >= 270, $"only {cases.Count} reference cases were found; libonnx-testdata 1.12 has 271 for these operators");
    }
}
