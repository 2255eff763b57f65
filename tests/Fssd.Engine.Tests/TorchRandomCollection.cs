using Xunit;

namespace Fssd.Engine.Tests;

/// <summary>
/// Tests that draw from libtorch's global random generator (dropout in training, randint in
/// fixtures) run one at a time: a test running beside them would draw from the same generator and
/// make "same seed, same weights" false for reasons that have nothing to do with the trainer.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "libtorch global generator";
}
