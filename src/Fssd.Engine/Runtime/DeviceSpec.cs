using System;
using System.Globalization;

namespace Fssd.Engine.Runtime;

/// <summary>A parsed device name: "cpu", "cuda" or "cuda:N".</summary>
public readonly record struct DeviceSpec(bool IsCuda, int Index)
{
    public static DeviceSpec Parse(string text)
    {
        string value = (text ?? "").Trim().ToLowerInvariant();
        if (value == "cpu") return new DeviceSpec(false, 0);
        if (value == "cuda") return new DeviceSpec(true, 0);
        if (value.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return new DeviceSpec(true, index);
        throw new FssdInvalidDeviceException($"'{text}' is not a device: use 'cpu', 'cuda' or 'cuda:N'.", text ?? "");
    }

    public override string ToString() => IsCuda ? $"cuda:{Index}" : "cpu";
}
