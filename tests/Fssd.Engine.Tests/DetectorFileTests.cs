using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Fssd.Engine.Persistence;
using Xunit;

namespace Fssd.Engine.Tests;

/// <summary>Detector files and manifests that were edited, damaged or crafted: refused with the reason, never scored with.</summary>
public sealed class DetectorFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"fssd-detector-files-{Guid.NewGuid():N}");
    /// <summary>The outlier-free FSSD-Ensem the module ships (format 2), edited in the tests below.</summary>
    private readonly string _shipped = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.outlier-free.fssd.yaml");

    /// <summary>The default detector: that FSSD-Ensem with Knn layers (format 3).</summary>
    private readonly string _default = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.fssd.yaml");

    public DetectorFileTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string ShippedDocument() => ContentSeal.Open(File.ReadAllText(_shipped)).Document;

    private string Write(string name, string document, bool seal = true)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, seal ? ContentSeal.Seal("# test\n", document) : "# test\n" + document);
        return path;
    }

    private static string Replace(string document, string pattern, string replacement)
    {
        var regex = new Regex(pattern, RegexOptions.Multiline);
        Assert.Matches(regex, document);
        return regex.Replace(document, replacement, 1);
    }

    [Fact]
    public void The_shipped_detector_is_sealed_and_reads_cleanly()
    {
        var warnings = new List<string>();
        var doc = DetectorDocument.Read(_shipped, new ReadOptions(false, warnings.Add));
        Assert.Empty(warnings);
        Assert.Equal(2, doc.FormatVersion);
        Assert.Equal(SealState.Intact, ContentSeal.Open(File.ReadAllText(_shipped)).State);
        var withKnn = DetectorDocument.Read(_default, new ReadOptions(false, warnings.Add));
        Assert.Empty(warnings);
        Assert.Equal(3, withKnn.FormatVersion);
        Assert.Equal(new string?[] { null, null, null, null, "Knn", "Knn" }, withKnn.Layers.Select(l => l.Method));
        Assert.Equal(2, withKnn.Banks!.Count);
        Assert.Equal(SealState.Intact, ContentSeal.Open(File.ReadAllText(_default)).State);
        // A Knn layer's method is format 3's: the same file saying format 2 is refused.
        string v2 = Write("default-v2.fssd.yaml", Replace(ContentSeal.Open(File.ReadAllText(_default)).Document, @"^formatVersion: 3$", "formatVersion: 2"));
        Assert.Contains("format 2 cannot say", Assert.Throws<FssdModelException>(() => DetectorDocument.Read(v2)).Message);
    }

    [Fact]
    public void An_edited_threshold_is_refused_and_accepted_with_a_warning_only_when_asked()
    {
        string text = File.ReadAllText(_shipped);
        string edited = Replace(text, @"^threshold: .*$", "threshold: -1000");
        string path = Path.Combine(_folder, "edited.fssd.yaml");
        File.WriteAllText(path, edited);
        var e = Assert.Throws<FssdModelException>(() => DetectorDocument.Read(path));
        Assert.Contains("changed after it was written", e.Message);
        Assert.Contains("-SkipIntegrityCheck", e.Message);
        var warnings = new List<string>();
        var doc = DetectorDocument.Read(path, new ReadOptions(true, warnings.Add));
        Assert.Equal(-1000, doc.Threshold);
        Assert.Single(warnings);
    }

    [Fact]
    public void Line_endings_converted_by_a_checkout_are_not_an_edit()
    {
        string path = Path.Combine(_folder, "crlf.fssd.yaml");
        File.WriteAllText(path, File.ReadAllText(_shipped).Replace("\n", "\r\n"));
        DetectorDocument.Read(path);
    }

    [Theory]
    [InlineData(@"^threshold: .*$", "threshold: .nan", "threshold is NaN")]
    [InlineData(@"^epsilon: .*$", "epsilon: .inf", "(from -10 to 10)")]
    [InlineData(@"^epsilon: .*$", "epsilon: 50", "epsilon is 50")]
    [InlineData(@"^  std: .*$", "  std: 0", "std 0")]
    [InlineData(@"^  weight: .*$", "  weight: -.inf", "must be finite")]
    [InlineData(@"^targetTpr: .*$", "targetTpr: 1.5", "targetTpr is 1.5")]
    [InlineData(@"^perturbation: .*$", "perturbation: 7", "perturbation is '7'")]
    [InlineData(@"^      size: .*$", "      size: 1073741824", "declares 1073741824")]
    [InlineData(@"^      size: .*$", "      size: 12", "base64 characters")]
    [InlineData(@"^      float32: .*$", "      float32: AAAAAA==", "base64 characters")]
    public void Values_a_scorer_would_use_are_checked_on_load(string pattern, string replacement, string expected)
    {
        string path = Write("bad.fssd.yaml", Replace(ShippedDocument(), pattern, replacement));
        var e = Assert.Throws<FssdModelException>(() =>
        {
            var doc = DetectorDocument.Read(path);
            // Centers are decoded when the detector object is made.
            doc.ToDetector(new[] { new FssdModel { Name = "m" } }, path);
        });
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_center_with_a_non_finite_value_is_refused()
    {
        var nan = Convert.ToBase64String(BitConverter.GetBytes(float.NaN));
        string document = Replace(ShippedDocument(), @"^(    - name: logits\n      size: )\d+\n      float32: .*$", "${1}1\n      float32: " + nan);
        string path = Write("nan-center.fssd.yaml", document);
        var doc = DetectorDocument.Read(path);
        var models = new[] { new FssdModel { Name = "m" } };
        Assert.Contains("NaN", Assert.Throws<FssdModelException>(() => doc.ToDetector(models, path)).Message);
    }

    [Fact]
    public void A_format_2_detector_without_its_hash_is_refused_and_a_format_1_one_warns()
    {
        string unsealed = Write("unsealed.fssd.yaml", ShippedDocument(), seal: false);
        Assert.Contains("lost its content hash", Assert.Throws<FssdModelException>(() => DetectorDocument.Read(unsealed)).Message);
        string old = Write("old.fssd.yaml", Replace(ShippedDocument(), @"^formatVersion: 2$", "formatVersion: 1"), seal: false);
        var warnings = new List<string>();
        DetectorDocument.Read(old, new ReadOptions(false, warnings.Add));
        Assert.Contains("no content hash", Assert.Single(warnings));
    }

    [Theory]
    [InlineData("name: &a fashion\nalias: *a\n", "anchor")]
    [InlineData("name: !!python/object:os.system echo\n", "tag")]
    [InlineData("name: a\nname: b\n", "Duplicate")]
    public void YAML_is_read_as_plain_data(string prefix, string expected)
    {
        string path = Write("yaml.fssd.yaml", prefix + Replace(ShippedDocument(), @"^name: .*\n", ""));
        var e = Assert.Throws<FssdModelException>(() => DetectorDocument.Read(path));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_file_of_another_kind_is_named_for_what_it_is()
    {
        string manifest = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.yaml");
        var e = Assert.Throws<FssdModelException>(() => DetectorDocument.Read(manifest));
        Assert.Contains("is an Fssd model manifest", e.Message);
        Assert.Contains("Import-FssdModel", e.Message);
        string image = Path.Combine(NativeSetup.RepositoryRoot(), "examples", "samples", "mnist-digit0-00023.png");
        Assert.Contains("is a PNG image", Assert.Throws<FssdModelException>(() => DetectorDocument.Read(image)).Message);
        Assert.Contains("is an Fssd detector file", Assert.Throws<FssdModelException>(() => ModelManifest.Load(_shipped)).Message);
        Assert.Contains("is a PNG image", Assert.Throws<FssdModelException>(() => Models.WeightsFormatDetector.Detect(image)).Message);
    }

    [Fact]
    public void A_manifest_the_module_wrote_is_refused_when_edited_and_a_hand_written_one_is_read()
    {
        string shipped = File.ReadAllText(Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.yaml"));
        string edited = Path.Combine(_folder, "edited.yaml");
        File.WriteAllText(edited, Replace(shipped, @"^- Bag$", "- Handbag"));
        Assert.Contains("changed after the module wrote it", Assert.Throws<FssdModelException>(() => ModelManifest.Load(edited)).Message);
        string byHand = Path.Combine(_folder, "hand.yaml");
        File.WriteAllText(byHand, "architecture: LeNet\nweights: lenet.pt\nclassNames: [a, b]\n");
        Assert.Equal(2, ModelManifest.Load(byHand).ClassNames!.Count);
        File.WriteAllText(byHand, "architecture: LeNet\nweights: lenet.pt\ninput:\n  std: [.nan]\n");
        Assert.Contains("std", Assert.Throws<FssdModelException>(() => ModelManifest.Load(byHand)).Message);
    }
}
