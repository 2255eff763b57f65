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

    /// <summary>
    /// Stops this command for a failure that makes the whole call meaningless — the model, detector or an
    /// argument is unusable — with the error id and category <see cref="ErrorPolicy"/> gives its cause.
    /// A cancellation (Ctrl+C) ends the command quietly.
    /// </summary>
    protected void ThrowFailure(Exception exception, object? target)
    {
        if (exception is OperationCanceledException) return;
        ThrowTerminatingError(ErrorPolicy.Record(exception, target));
    }

    /// <summary>Writes a failure of one input (a file, a sample) as a non-terminating error; the others go on.</summary>
    protected void WriteFailure(Exception exception, object? target) => WriteError(ErrorPolicy.Record(exception, target));

    /// <summary>
    /// Writes the file just written as the file-system provider's item — a FileInfo with PSPath and the other
    /// provider properties, as Get-Item gives it — so that it formats and pipes like any file.
    /// </summary>
    protected void WriteFileItem(string path)
    {
        foreach (var item in InvokeProvider.Item.Get(new[] { path }, force: true, literalPath: true)) WriteObject(item);
    }

    /// <summary>Whether the caller gave a parameter (as opposed to its default).</summary>
    protected bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);

    /// <summary>A progress callback for the engine: each message as progress of <paramref name="activity"/> and as verbose output.</summary>
    protected Action<string> Reporter(int id, string activity) => message =>
    {
        WriteProgress(new ProgressRecord(id, activity, message));
        WriteVerbose(message);
    };

    private readonly System.Collections.Generic.List<IDisposable> _modelsInUse = new();

    /// <summary>
    /// The session's network for a model object, or the module's default model when none is given, held
    /// for this command: removing it from the session meanwhile frees it only when the command is done.
    /// Throws <see cref="Fssd.Engine.FssdModelException"/> when it is not loaded or cannot be.
    /// </summary>
    protected Fssd.Engine.Models.LoadedModel ResolveModel(FssdModel? model)
    {
        var session = Fssd.Engine.Runtime.FssdSession.Current;
        if (model is not null) return Hold(session.Models.Get(model));
        var request = new Fssd.Engine.Models.ModelLoadRequest { Path = Fssd.Engine.Models.DefaultModel.ManifestPath };
        return Hold(session.Models.GetOrLoad(request, session.Device, out _));
    }

    /// <summary>The models given (held, see <see cref="ResolveModel"/>), or the module's default model when none are.</summary>
    protected System.Collections.Generic.List<Fssd.Engine.Models.LoadedModel> ResolveModels(FssdModel[]? models) =>
        models is null ? new() { ResolveModel(null) } : System.Linq.Enumerable.ToList(System.Linq.Enumerable.Select(models, m => ResolveModel(m)));

    /// <summary>Inputs (files, FileInfo, datasets, samples) decoded for a model; each unreadable one is reported and left out.</summary>
    protected System.Collections.Generic.List<(string Source, byte[] Pixels)> DecodeInputs(System.Collections.Generic.IEnumerable<object> inputs, FssdInputSpec spec) =>
        InputResolver.Decode(this, inputs, spec, WriteError, WriteWarning, CancellationToken);

    /// <summary>Holds a loaded model for the rest of this command (see <see cref="ResolveModel"/>).</summary>
    protected Fssd.Engine.Models.LoadedModel Hold(Fssd.Engine.Models.LoadedModel model)
    {
        var use = model.Use();
        lock (_modelsInUse) _modelsInUse.Add(use);
        return model;
    }

    /// <summary>Releases what a cmdlet holds (worker threads, buffers) when PowerShell disposes it.</summary>
    protected virtual void DisposeResources()
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DisposeResources();
        lock (_modelsInUse)
        {
            foreach (var use in _modelsInUse) use.Dispose();
            _modelsInUse.Clear();
        }
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }
}
