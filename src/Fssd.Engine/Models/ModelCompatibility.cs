using System.Collections.Generic;
using System.Linq;

namespace Fssd.Engine.Models;

/// <summary>Whether several models can score the same decoded inputs together (one detector, one deep ensemble).</summary>
public static class ModelCompatibility
{
    /// <summary>
    /// All models read the same decoded input — channels and size — so one decode serves them all; each
    /// normalizes it its own way. A mismatch is an error naming the first model and the one that differs.
    /// </summary>
    public static void RequireSameInput(IReadOnlyList<LoadedModel> models)
    {
        if (models.Count == 0) throw new System.ArgumentException("At least one model is needed.", nameof(models));
        var first = models[0].Info.InputSpec;
        var other = models.FirstOrDefault(m => m.Info.InputSpec.Channels != first.Channels || m.Info.InputSpec.Height != first.Height
            || m.Info.InputSpec.Width != first.Width);
        if (other is not null)
        {
            var spec = other.Info.InputSpec;
            throw new FssdModelException(
                $"Models scored together must read the same input size: '{models[0].Info.Name}' reads {first.Channels}x{first.Height}x{first.Width}, " +
                $"'{other.Info.Name}' {spec.Channels}x{spec.Height}x{spec.Width}.");
        }
    }
}
