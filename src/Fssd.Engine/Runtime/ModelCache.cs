using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Fssd.Engine.Models;

namespace Fssd.Engine.Runtime;

/// <summary>
/// The session's models, keyed by content hash, options and device: importing the same file twice
/// returns the cached instance at once. Thread-safe; one load per key even under concurrent imports.
/// </summary>
public sealed class ModelCache
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new();
    private readonly ConcurrentDictionary<string, DateTime> _lastUsed = new();
    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> _hashes = new();

    /// <summary>Loads the model the request describes, or returns the cached one.</summary>
    public LoadedModel GetOrLoad(ModelLoadRequest request, TorchSharp.torch.Device device, out bool fromCache)
    {
        var (manifest, baseDir, source) = ModelLoader.Describe(request);
        return GetOrLoad(manifest, baseDir, source, device, out fromCache);
    }

    /// <summary>Loads the model a manifest describes (weights relative to <paramref name="baseDir"/>), or returns the cached one.</summary>
    public LoadedModel GetOrLoad(Persistence.ModelManifest manifest, string baseDir, string source, TorchSharp.torch.Device device, out bool fromCache)
    {
        manifest.Validate(source);
        string weights = Path.GetFullPath(Path.Combine(baseDir, manifest.Weights));
        string sha = HashFile(weights);
        Pinned(manifest.WeightsSha256, sha, weights, source);
        // The weights' content stands for the weights; the rest of the manifest for the options.
        var options = manifest.Clone();
        options.Weights = "";
        if (manifest.Preprocessing is not null)
        {
            string preprocessing = Path.GetFullPath(Path.Combine(baseDir, manifest.Preprocessing));
            if (!File.Exists(preprocessing)) throw new FssdFileNotFoundException($"The preprocessing graph '{preprocessing}' named by '{source}' does not exist.", preprocessing);
            string preprocessingSha = HashFile(preprocessing);
            Pinned(manifest.PreprocessingSha256, preprocessingSha, preprocessing, source);
            options.Preprocessing = preprocessingSha;
        }
        string id = Key(sha, options.ToYaml(), device.ToString());
        bool created = false;
        var lazy = _models.GetOrAdd(id, key => new Lazy<LoadedModel>(() =>
        {
            created = true;
            return ModelLoader.Load(key, manifest, baseDir, source, sha, device);
        }));
        LoadedModel model;
        try
        {
            model = lazy.Value;
        }
        catch
        {
            _models.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(id, lazy));
            throw;
        }
        _lastUsed[id] = DateTime.UtcNow;
        fromCache = !created;
        return model;
    }

    /// <summary>Adds a model made in the session (e.g. by training) so that cmdlets can find it by id.</summary>
    public void Add(LoadedModel model)
    {
        _models[model.Info.Id] = new Lazy<LoadedModel>(model);
        _lastUsed[model.Info.Id] = DateTime.UtcNow;
    }

    public LoadedModel Get(FssdModel model) =>
        _models.TryGetValue(model.Id, out var lazy) && lazy.IsValueCreated && !lazy.Value.IsRemoved
            ? lazy.Value
            : throw new FssdModelNotLoadedException($"The model '{model.Name}' ({model.SourcePath}) is no longer loaded in this session; import it again.");

    /// <summary>The loaded models, most recently used first.</summary>
    public IReadOnlyList<LoadedModel> Loaded =>
        _models.Where(p => p.Value.IsValueCreated)
            .OrderByDescending(p => _lastUsed.TryGetValue(p.Key, out var t) ? t : DateTime.MinValue)
            .Select(p => p.Value.Value).ToList();

    /// <summary>Frees one model (at once, or when the scorers using it are done); returns false when it was not loaded.</summary>
    public bool Remove(string id)
    {
        if (!_models.TryRemove(id, out var lazy)) return false;
        _lastUsed.TryRemove(id, out _);
        if (lazy.IsValueCreated) lazy.Value.Dispose();
        return true;
    }

    public string HashFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FssdFileNotFoundException($"The weights file '{path}' does not exist.", path);
        return _hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ =>
        {
            using var stream = info.OpenRead();
            return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        });
    }

    private static void Pinned(string? expected, string actual, string file, string source)
    {
        if (expected is not null && !expected.Equals(actual, StringComparison.OrdinalIgnoreCase))
            throw new FssdModelException(
                $"'{file}' has SHA-256 {actual}, but '{source}' pins {expected.ToLowerInvariant()}: it is not the file the manifest was made for (a damaged download or another version).");
    }

    private static string Key(params string[] parts) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", parts))))[..16].ToLowerInvariant();
}
