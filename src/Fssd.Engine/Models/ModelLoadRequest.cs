using System.Collections.Generic;

namespace Fssd.Engine.Models;

/// <summary>What Import-FssdModel asks for: a manifest, a weights or model file with options, or a pretrained model by name.</summary>
public sealed class ModelLoadRequest
{
    public string Path { get; init; } = "";

    /// <summary>A pretrained model that ships with the module (see <see cref="PretrainedModels"/>); Path is then not read.</summary>
    public string? Pretrained { get; init; }

    public string? Architecture { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<string>? ClassNames { get; init; }
    public int[]? InputSize { get; init; }
    public ColorMode? ColorMode { get; init; }
    public double[]? Mean { get; init; }
    public double[]? Std { get; init; }
    public string? Stem { get; init; }
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>How a manifest is read: whether one changed since the module wrote it is accepted, and where warnings go.</summary>
    public Persistence.ReadOptions ReadOptions { get; init; } = Persistence.ReadOptions.Default;
}
