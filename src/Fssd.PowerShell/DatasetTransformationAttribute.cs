using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using Fssd.Engine;
using Fssd.Engine.Data;

namespace Fssd.PowerShell;

/// <summary>
/// Lets a dataset parameter take an <see cref="FssdDataset"/>, a path (IDX file, class folder, folder
/// of images), or a benchmark name with its split: "FashionMNIST/train", "FashionMNIST/test", "MNIST".
/// </summary>
public sealed class DatasetTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject ps ? ps.BaseObject : inputData;
        if (value is FssdDataset) return value;
        if (value is FileSystemInfo info) value = info.FullName;
        if (value is not string text) return inputData;
        try
        {
            return Resolve(text, engineIntrinsics.SessionState.Path.CurrentFileSystemLocation.ProviderPath);
        }
        catch (FssdDataException e)
        {
            throw new ArgumentTransformationMetadataException(e.Message, e);
        }
    }

    public static FssdDataset Resolve(string text, string currentDirectory)
    {
        string candidate = Path.GetFullPath(Path.Combine(currentDirectory, text));
        if (File.Exists(candidate) || Directory.Exists(candidate)) return DatasetOpener.Open(candidate);
        string[] parts = text.Split('/', '\\', ':');
        string name = parts[0];
        foreach (var known in BenchmarkData.Names)
        {
            if (!known.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            var splits = DatasetProvisioner.Splits(known);
            string split = parts.Length > 1 ? parts[1] : splits.Count == 1 ? splits[0]
                : throw new FssdDataException($"Say which split of {known} you mean: {string.Join(" or ", splits.Select(s => known + "/" + s))}.");
            return new DatasetProvisioner(null).Open(known, split, null, CancellationToken.None);
        }
        throw new FssdDataException($"'{text}' is neither an existing path ('{candidate}') nor a benchmark dataset ({string.Join(", ", BenchmarkData.Names)}, e.g. FashionMNIST/test).");
    }
}
