using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using Fssd.Engine.Persistence;

namespace Fssd.PowerShell;

/// <summary>
/// How PowerShell sees the module's per-file objects (scores, predictions, samples): their properties in a fixed
/// order — the file first, then what was found about it — so that Export-Csv writes the columns a reader
/// expects; a score's taps as one Fssd_&lt;tap&gt; column each, after its verdict and class; and a PSPath for
/// files, which binds Move-Item's, Copy-Item's and Remove-Item's -LiteralPath, so that names with [ ], * or ?
/// are moved as they are. Registered for those types by the module's loader (Update-TypeData -TypeAdapter).
/// </summary>
public sealed class FileResultAdapter : PSPropertyAdapter
{
    private const string FileSystemPrefix = @"Microsoft.PowerShell.Core\FileSystem::";

    private sealed record Member(string Name, Type Type, Func<object, object?> Get, Action<object, object?>? Set);

    private static readonly Dictionary<Type, (Member[] Head, Member[] Tail)> Layouts = new()
    {
        [typeof(FssdScore)] = Layout(typeof(FssdScore), tapsAfter: nameof(FssdScore.Confidence)),
        [typeof(FssdPrediction)] = Layout(typeof(FssdPrediction), tapsAfter: null),
        [typeof(FssdSample)] = Layout(typeof(FssdSample), tapsAfter: null),
    };

    /// <summary>The types this adapter presents.</summary>
    public static IReadOnlyCollection<Type> Types => Layouts.Keys;

    /// <summary>Public properties in declaration order, split where the tap columns go.</summary>
    private static (Member[] Head, Member[] Tail) Layout(Type type, string? tapsAfter)
    {
        var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.MetadataToken)
            .Select(p => new Member(p.Name, p.PropertyType, p.GetValue, p.SetMethod is { IsPublic: true } ? p.SetValue : null))
            .ToList();
        int split = tapsAfter is null ? members.Count : members.FindIndex(m => m.Name == tapsAfter) + 1;
        return (members.Take(split).ToArray(), members.Skip(split).ToArray());
    }

    public override Collection<PSAdaptedProperty> GetProperties(object baseObject)
    {
        var properties = new Collection<PSAdaptedProperty>();
        var (head, tail) = Layouts[baseObject.GetType()];
        foreach (var member in head) properties.Add(new PSAdaptedProperty(member.Name, member));
        if (baseObject is FssdScore score)
            foreach (DictionaryEntry entry in score.LayerScores)
                properties.Add(new PSAdaptedProperty(ResultsCsv.TapColumn((string)entry.Key), entry.Key));
        foreach (var member in tail) properties.Add(new PSAdaptedProperty(member.Name, member));
        if (FileOf(baseObject) is not null) properties.Add(new PSAdaptedProperty("PSPath", PSPathTag));
        return properties;
    }

    public override PSAdaptedProperty? GetProperty(object baseObject, string propertyName)
    {
        var (head, tail) = Layouts[baseObject.GetType()];
        var member = head.Concat(tail).FirstOrDefault(m => string.Equals(m.Name, propertyName, StringComparison.OrdinalIgnoreCase));
        if (member is not null) return new PSAdaptedProperty(member.Name, member);
        if (string.Equals(propertyName, "PSPath", StringComparison.OrdinalIgnoreCase))
            return FileOf(baseObject) is null ? null : new PSAdaptedProperty("PSPath", PSPathTag);
        if (baseObject is FssdScore score && propertyName.StartsWith(ResultsCsv.TapPrefix, StringComparison.OrdinalIgnoreCase))
            foreach (DictionaryEntry entry in score.LayerScores)
                if (string.Equals(ResultsCsv.TapColumn((string)entry.Key), propertyName, StringComparison.OrdinalIgnoreCase))
                    return new PSAdaptedProperty(ResultsCsv.TapColumn((string)entry.Key), entry.Key);
        return null;
    }

    public override object? GetPropertyValue(PSAdaptedProperty adaptedProperty)
    {
        object target = adaptedProperty.BaseObject;
        return adaptedProperty.Tag switch
        {
            Member member => member.Get(target),
            string tap => ((FssdScore)target).LayerScores[tap],
            _ when ReferenceEquals(adaptedProperty.Tag, PSPathTag) => FileSystemPrefix + FileOf(target),
            _ => null,
        };
    }

    public override bool IsGettable(PSAdaptedProperty adaptedProperty) => true;

    /// <summary>Init-only properties can be given when an object is made (e.g. [Fssd.FssdSample]@{ ... }), as PowerShell does for any .NET type.</summary>
    public override bool IsSettable(PSAdaptedProperty adaptedProperty) => adaptedProperty.Tag is Member { Set: not null };

    public override void SetPropertyValue(PSAdaptedProperty adaptedProperty, object value)
    {
        if (adaptedProperty.Tag is not Member { Set: { } set } member)
            throw new SetValueException($"{adaptedProperty.Name} is read-only: it is computed from the other properties.");
        object? unwrapped = value is PSObject ps ? ps.BaseObject : value;
        set(adaptedProperty.BaseObject, LanguagePrimitives.ConvertTo(unwrapped, member.Type, System.Globalization.CultureInfo.InvariantCulture));
    }

    public override string GetPropertyTypeName(PSAdaptedProperty adaptedProperty) => adaptedProperty.Tag switch
    {
        Member member => member.Type.FullName!,
        string => typeof(double).FullName!,
        _ => typeof(string).FullName!,
    };

    private static readonly object PSPathTag = new();

    private static string? FileOf(object result) => result switch
    {
        FssdScore { IsFile: true } score => score.FullName,
        FssdPrediction prediction => prediction.FullName,
        FssdSample sample => sample.FullName,
        _ => null,
    };
}
