using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace Fssd.PowerShell;

/// <summary>Reads scores handed to a cmdlet: FssdScore objects, objects with a Score property, or numbers.</summary>
internal static class ScoreValues
{
    /// <summary>Scores from FssdScore objects (Score, or LayerScores[layer]), objects with a Score property, or numbers.</summary>
    public static List<double> Read(object[] inputs, string parameter, string? layer)
    {
        var values = new List<double>(inputs.Length);
        foreach (var raw in inputs)
        {
            object? item = raw is PSObject ps ? ps.BaseObject : raw;
            switch (item)
            {
                case FssdScore score when layer is not null:
                    if (!score.LayerScores.Contains(layer))
                        throw new ArgumentException($"A score of '{score.FullName}' has no layer '{layer}'; it has {string.Join(", ", System.Linq.Enumerable.Cast<string>(score.LayerScores.Keys))}.");
                    values.Add(Convert.ToDouble(score.LayerScores[layer], System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case FssdScore score:
                    values.Add(score.Score);
                    break;
                case double or float or int or long or decimal or short or byte:
                    values.Add(Convert.ToDouble(item, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    var property = raw is PSObject wrapped ? wrapped.Properties["Score"] : PSObject.AsPSObject(item!).Properties["Score"];
                    if (property?.Value is null || !LanguagePrimitives.TryConvertTo(property.Value, out double parsed))
                        throw new ArgumentException($"-{parameter} holds '{item}', which is neither a number nor an object with a numeric Score.");
                    values.Add(parsed);
                    break;
            }
        }
        return values;
    }
}
