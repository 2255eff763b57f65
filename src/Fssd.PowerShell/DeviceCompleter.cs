using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Fssd.PowerShell;

/// <summary>Tab completion for -Device: cpu, cuda and cuda:0..3.</summary>
public sealed class DeviceCompleter : IArgumentCompleter
{
    private static readonly string[] Devices = { "cpu", "cuda", "cuda:0", "cuda:1", "cuda:2", "cuda:3" };

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName,
        string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Devices.Where(d => d.StartsWith(wordToComplete ?? "", System.StringComparison.OrdinalIgnoreCase))
            .Select(d => new CompletionResult(d));
}
