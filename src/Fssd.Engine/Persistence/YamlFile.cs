using System;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Fssd.Engine.Persistence;

/// <summary>
/// Reading the module's YAML files (manifests, detectors) as data only: a size limit before reading,
/// no anchors, aliases or tags (the files never use them, and they are how YAML documents expand or name
/// types), duplicate keys refused, and every failure an <see cref="FssdModelException"/> naming the file.
/// </summary>
public static class YamlFile
{
    /// <summary>Larger than any detector the module writes (a LeNet detector is about 200 KB).</summary>
    public const long MaxBytes = 256L << 20;

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithDuplicateKeyChecking()
        .Build();

    private static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    public static string Serialize(object document) => Writer.Serialize(document);

    /// <summary>The text of <paramref name="path"/>, refused when it is not a file or larger than <see cref="MaxBytes"/>.</summary>
    public static string ReadText(string path, string what)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new FssdModelException(Directory.Exists(path) ? $"'{path}' is a directory, not {what}." : $"The {what} '{path}' does not exist.");
            if (info.Length == 0) throw new FssdModelException($"The {what} '{path}' is empty or not a regular file.");
            if (info.Length > MaxBytes) throw new FssdModelException($"'{path}' is {info.Length} bytes, larger than any {what} ({MaxBytes >> 20} MiB at most).");
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FssdModelException($"The {what} '{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Deserializes a document of plain mappings, sequences and scalars into <typeparamref name="T"/>.</summary>
    public static T Deserialize<T>(string text, string path, string what) where T : class
    {
        try
        {
            RefuseIndirection(text, path, what);
            return Reader.Deserialize<T>(text) ?? throw new FssdModelException($"The {what} '{path}' is empty.");
        }
        catch (YamlException e)
        {
            string cause = e.InnerException?.Message ?? e.Message;
            throw new FssdModelException($"The {what} '{path}' is not valid (line {e.Start.Line}, column {e.Start.Column}): {cause}", e);
        }
        catch (Exception e) when (e is not FssdModelException)
        {
            throw new FssdModelException($"The {what} '{path}' could not be read: {e.Message}", e);
        }
    }

    private static void RefuseIndirection(string text, string path, string what)
    {
        var parser = new Parser(new StringReader(text));
        while (parser.MoveNext())
        {
            var current = parser.Current;
            if (current is AnchorAlias)
                throw new FssdModelException($"The {what} '{path}' uses a YAML alias (line {current.Start.Line}); these files are plain data and never do.");
            if (current is NodeEvent node && (!node.Anchor.IsEmpty || !node.Tag.IsEmpty))
                throw new FssdModelException($"The {what} '{path}' uses a YAML {(node.Anchor.IsEmpty ? "tag " + node.Tag.Value : "anchor")} (line {current.Start.Line}); these files are plain data and never do.");
        }
    }
}
