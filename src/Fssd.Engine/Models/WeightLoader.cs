using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>Copies a state_dict into a built-in network, refusing names or shapes that do not fit.</summary>
public static class WeightLoader
{
    private const int MismatchesShown = 5;

    public static void Load(nn.Module module, string path, WeightsFormat format, string architecture)
    {
        if (format == WeightsFormat.TorchSharp)
        {
            LoadTorchSharp(module, path, architecture);
            return;
        }
        var source = StateDictReader.Read(path, format);
        try
        {
            Apply(module, source, path, architecture);
        }
        finally
        {
            foreach (var t in source.Values) t.Dispose();
        }
    }

    /// <summary>Checks every name and shape first, then copies; lists the first few mismatches.</summary>
    public static void Apply(nn.Module module, IReadOnlyDictionary<string, Tensor> source, string path, string architecture)
    {
        var target = module.state_dict();
        var problems = new List<string>();
        foreach (var (name, tensor) in target)
        {
            if (!source.TryGetValue(name, out var given))
                problems.Add($"missing '{name}' {Shape(tensor)}");
            else if (!given.shape.SequenceEqual(tensor.shape))
                problems.Add($"'{name}' is {Shape(given)} in the file but {Shape(tensor)} in {architecture}");
        }
        foreach (var name in source.Keys.Where(k => !target.ContainsKey(k)))
            problems.Add($"unexpected '{name}' {Shape(source[name])}");
        if (problems.Count > 0)
        {
            string shown = string.Join("; ", problems.Take(MismatchesShown));
            string more = problems.Count > MismatchesShown ? $"; and {problems.Count - MismatchesShown} more" : "";
            throw new FssdModelException(
                $"The weights in '{path}' do not fit {architecture} ({problems.Count} mismatch(es)): {shown}{more}.");
        }
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target)
        {
            var given = source[name];
            tensor.copy_(given.to(tensor.dtype));
        }
    }

    private static void LoadTorchSharp(nn.Module module, string path, string architecture)
    {
        try
        {
            module.load(path, strict: true);
        }
        catch (Exception e) when (e is not FssdModelException)
        {
            throw new FssdModelException(
                $"'{path}' is not a PyTorch state_dict, safetensors or TorchScript file, and reading it as TorchSharp weights for {architecture} failed: {e.Message}", e);
        }
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
