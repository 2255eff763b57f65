using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using Fssd.Engine.Data;
using Fssd.Engine.Models;
using Fssd.Engine.Persistence;

namespace Fssd.PowerShell;

/// <summary>Tab completion for -Device: cpu, cuda and cuda:0..3.</summary>
public sealed class DeviceCompleter : IArgumentCompleter
{
    private static readonly string[] Devices = { "cpu", "cuda", "cuda:0", "cuda:1", "cuda:2", "cuda:3" };

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Devices, wordToComplete);
}

/// <summary>
/// Tab completion for -Layer: the taps of the -Model already on the command line, else those of the
/// default model (read from its manifest; nothing is loaded).
/// </summary>
public sealed class TapCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        object? model = fakeBoundParameters["Model"] is PSObject ps ? ps.BaseObject : fakeBoundParameters["Model"];
        IEnumerable<string> taps;
        if (model is FssdModel loaded) taps = loaded.Layers.Select(l => l.Name);
        else
        {
            try
            {
                taps = ModelManifest.Load(DefaultModel.ManifestPath).Taps?.Select(t => t.Name) ?? Enumerable.Empty<string>();
            }
            catch (Exception)
            {
                taps = Enumerable.Empty<string>();
            }
        }
        return Completion.Matching(taps, wordToComplete);
    }
}

/// <summary>Tab completion for dataset parameters: the benchmark datasets with their splits (paths complete as usual).</summary>
public sealed class DatasetCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(BenchmarkData.Names.SelectMany(n => DatasetProvisioner.Splits(n).Select(s => n + "/" + s)), wordToComplete);
}

/// <summary>Tab completion for -Corruption: the corruption kinds of the corrupted-copy benchmark.</summary>
public sealed class CorruptionCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Matching(Enum.GetNames<Fssd.Engine.Data.CorruptionKind>(), wordToComplete);
}

/// <summary>Tab completion for -Detector: detector files (*.fssd.yaml) and folders, from the current location.</summary>
public sealed class DetectorFileCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        string here = Completion.CurrentFileSystemLocation();
        int cut = word.LastIndexOfAny(new[] { '/', System.IO.Path.DirectorySeparatorChar });
        string typedFolder = cut < 0 ? "" : word.Substring(0, cut + 1);
        string folder = System.IO.Path.GetFullPath(System.IO.Path.Combine(here, typedFolder.Length == 0 ? "." : typedFolder));
        string prefix = word.Substring(cut + 1);
        if (!Directory.Exists(folder)) yield break;
        IEnumerable<string> folders, files;
        try
        {
            // Hidden folders only when asked for by a leading dot.
            folders = Directory.EnumerateDirectories(folder, prefix + "*").Select(System.IO.Path.GetFileName)
                .Where(d => prefix.StartsWith('.') || !d!.StartsWith('.')).Select(d => d + System.IO.Path.DirectorySeparatorChar).ToList();
            files = Directory.EnumerateFiles(folder, prefix + "*" + DetectorDocument.Extension).Select(f => System.IO.Path.GetFileName(f)!).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var name in files.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).Concat(folders.OrderBy(n => n, StringComparer.OrdinalIgnoreCase)))
        {
            string text = typedFolder + name;
            yield return new CompletionResult(Completion.Quote(text), text, CompletionResultType.ProviderItem, text);
        }
    }
}

internal static class Completion
{
    public static IEnumerable<CompletionResult> Matching(IEnumerable<string> candidates, string? word)
    {
        string typed = (word ?? "").Trim('\'', '"');
        return candidates.Where(c => c.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(Quote(c), c, CompletionResultType.ParameterValue, c));
    }

    /// <summary>The current file-system location of the runspace asking (completers run inside its pipeline).</summary>
    public static string CurrentFileSystemLocation()
    {
        try
        {
            using var shell = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            var result = shell.AddCommand("Microsoft.PowerShell.Management\\Get-Location").AddParameter("PSProvider", "FileSystem").Invoke<PathInfo>();
            if (result.Count > 0) return result[0].ProviderPath;
        }
        catch (Exception e) when (e is PSInvalidOperationException or CmdletInvocationException or InvalidOperationException)
        {
        }
        return Environment.CurrentDirectory;
    }

    /// <summary>Quotes a completion that would not parse as a bare word.</summary>
    public static string Quote(string text) =>
        text.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '&', '@', '#', '[', ']' }) >= 0
            ? "'" + text.Replace("'", "''") + "'"
            : text;
}
