using System.IO;
using System.Linq;
using System.Text.Json;
using Fssd.Engine.Metrics;
using Xunit;

namespace Fssd.Engine.Tests;

public class MetricsTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixture().RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonDocument Fixture() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(NativeSetup.RepositoryRoot(), "tests", "fixtures", "metrics", "metrics.json")));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Metrics_agree_with_scikit_learn_to_1e9(string name)
    {
        using var doc = Fixture();
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var scoresIn = c.GetProperty("in").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var scoresOut = c.GetProperty("out").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var expected = c.GetProperty("expected");
        var m = OodMetrics.Compute(scoresIn, scoresOut, name);
        Assert.Equal(expected.GetProperty("auroc").GetDouble(), m.AUROC, 1e-9);
        Assert.Equal(expected.GetProperty("auprcIn").GetDouble(), m.AUPRCIn, 1e-9);
        Assert.Equal(expected.GetProperty("auprcOut").GetDouble(), m.AUPRCOut, 1e-9);
        Assert.Equal(expected.GetProperty("fpr80").GetDouble(), m.FPR80, 1e-9);
        Assert.Equal(expected.GetProperty("fpr95").GetDouble(), m.FPR95, 1e-9);
        Assert.Equal(expected.GetProperty("detectionError").GetDouble(), m.DetectionError, 1e-9);
        Assert.Equal(scoresIn.Length, m.InCount);
    }
}
