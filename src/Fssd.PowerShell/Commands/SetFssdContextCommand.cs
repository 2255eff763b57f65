using System;
using System.Management.Automation;
using Fssd.Engine;
using Fssd.Engine.Runtime;

namespace Fssd.PowerShell.Commands;

/// <summary>Set-FssdContext: choose the device and the thread count for this session.</summary>
[Cmdlet(VerbsCommon.Set, "FssdContext")]
[OutputType(typeof(FssdContextInfo))]
public sealed class SetFssdContextCommand : FssdCmdlet
{
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(DeviceCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Device { get; set; }

    /// <summary>Intra-op threads libtorch may use.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int Threads { get; set; }

    /// <summary>The largest width × height an image file may declare (default 250 million).</summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long MaxImagePixels { get; set; }

    /// <summary>Bytes whole-frame decodes may hold at once, all decoding threads together (default 512 MB).</summary>
    [Parameter]
    [ValidateRange(4L << 20, long.MaxValue)]
    public long DecodeMemoryLimit { get; set; }

    /// <summary>
    /// The number format FSSD's scoring passes compute in: Float32 (default) or BFloat16 (on processors with
    /// AVX512-BF16 or AMX, or a GPU). Calibration always runs in Float32.
    /// </summary>
    [Parameter]
    public FssdPrecision Precision { get; set; }

    /// <summary>Write the new context to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        FssdSession session;
        try
        {
            session = FssdSession.Current;
        }
        catch (FssdRuntimeException e)
        {
            ThrowFailure(e, null);
            return;
        }

        if (Device is not null)
        {
            try
            {
                session.SetDevice(Device);
            }
            catch (Exception e) when (e is ArgumentException or FssdRuntimeException)
            {
                ThrowFailure(e, Device);
            }
        }
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Threads)))
        {
            session.SetThreads(Threads);
        }
        bool pixels = MyInvocation.BoundParameters.ContainsKey(nameof(MaxImagePixels));
        bool memory = MyInvocation.BoundParameters.ContainsKey(nameof(DecodeMemoryLimit));
        if (pixels || memory) session.SetImageLimits(pixels ? MaxImagePixels : null, memory ? DecodeMemoryLimit : null);
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Precision)))
        {
            session.SetPrecision(Precision);
            var (effective, note) = FssdSession.ScoringPrecision(Precision, session.Device);
            if (effective != Precision) WriteWarning(note);
        }
        if (PassThru) WriteObject(session.Describe());
    }
}
