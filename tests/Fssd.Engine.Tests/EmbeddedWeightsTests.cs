using System;
using System.IO;
using System.Security.Cryptography;
using Fssd.Engine.Persistence;
using Xunit;

namespace Fssd.Engine.Tests;

public sealed class EmbeddedWeightsTests : IDisposable
{
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "fssd-weights-test-" + Guid.NewGuid().ToString("N"));
    private readonly string _weights = Path.Combine(NativeSetup.RepositoryRoot(), "module", "models", "fashion-mnist-lenet.safetensors");
    private readonly string _sha;

    public EmbeddedWeightsTests()
    {
        Environment.SetEnvironmentVariable("FSSD_WEIGHTS", _cache);
        _sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_weights))).ToLowerInvariant();
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("FSSD_WEIGHTS", null);
        if (Directory.Exists(_cache)) Directory.Delete(_cache, true);
    }

    [Fact]
    public void Embedded_weights_unpack_once_into_the_cache_as_the_same_bytes()
    {
        string base64 = EmbeddedWeights.Encode(_weights, _sha);
        string folder = EmbeddedWeights.Unpack(base64, _sha, "fashion-mnist-lenet.safetensors", "d.fssd.yaml");
        string unpacked = Path.Combine(folder, "fashion-mnist-lenet.safetensors");
        Assert.Equal(Path.Combine(_cache, _sha), folder);
        Assert.Equal(File.ReadAllBytes(_weights), File.ReadAllBytes(unpacked));
        var written = File.GetLastWriteTimeUtc(unpacked);
        File.SetLastWriteTimeUtc(unpacked, written.AddMinutes(-5));
        Assert.Equal(folder, EmbeddedWeights.Unpack(base64, _sha, "fashion-mnist-lenet.safetensors", "d.fssd.yaml"));
        Assert.Equal(written.AddMinutes(-5), File.GetLastWriteTimeUtc(unpacked));
    }

    [Fact]
    public void A_damaged_copy_in_the_cache_is_written_again()
    {
        string base64 = EmbeddedWeights.Encode(_weights, _sha);
        string folder = EmbeddedWeights.Unpack(base64, _sha, "w.safetensors", "d.fssd.yaml");
        File.WriteAllText(Path.Combine(folder, "w.safetensors"), "truncated");
        EmbeddedWeights.Unpack(base64, _sha, "w.safetensors", "d.fssd.yaml");
        Assert.Equal(File.ReadAllBytes(_weights), File.ReadAllBytes(Path.Combine(folder, "w.safetensors")));
    }

    [Fact]
    public void Weights_that_do_not_hash_to_the_recorded_SHA256_are_refused()
    {
        var bytes = File.ReadAllBytes(_weights);
        bytes[^1] ^= 1;
        var e = Assert.Throws<FssdModelException>(() => EmbeddedWeights.Unpack(Convert.ToBase64String(bytes), _sha, "w.safetensors", "d.fssd.yaml"));
        Assert.Contains("damaged or was edited", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_cache, _sha)));
        Assert.Throws<FssdModelException>(() => EmbeddedWeights.Unpack("not base64!", _sha, "w.safetensors", "d.fssd.yaml"));
    }

    [Fact]
    public void Weights_changed_since_the_model_was_loaded_are_not_embedded()
    {
        var e = Assert.Throws<FssdModelException>(() => EmbeddedWeights.Encode(_weights, new string('0', 64)));
        Assert.Contains("have changed since the model was loaded", e.Message);
    }
}
