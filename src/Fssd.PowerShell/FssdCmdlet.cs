using System;
using System.Management.Automation;
using System.Threading;

namespace Fssd.PowerShell;

/// <summary>
/// What every Fssd cmdlet shares: a cancellation token that Ctrl+C (StopProcessing) trips at once,
/// and error records that always carry an id, a category and the target object.
/// </summary>
public abstract class FssdCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>Tripped when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken CancellationToken => _cancel.Token;

    /// <inheritdoc />
    protected override void StopProcessing() => _cancel.Cancel();

    /// <summary>Writes a non-terminating error: the pipeline goes on with the next input.</summary>
    protected void WriteFssdError(Exception exception, string errorId, ErrorCategory category, object? target) =>
        WriteError(new ErrorRecord(exception, errorId, category, target));

    /// <summary>Stops this command with a terminating error.</summary>
    protected void ThrowFssdError(Exception exception, string errorId, ErrorCategory category, object? target) =>
        ThrowTerminatingError(new ErrorRecord(exception, errorId, category, target));

    /// <inheritdoc />
    public void Dispose()
    {
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }
}
