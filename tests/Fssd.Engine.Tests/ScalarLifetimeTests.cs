using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace Fssd.Engine.Tests;

/// <summary>
/// A TorchSharp Scalar made for one call (an implicit double-to-Scalar conversion, or the alpha of 1 that
/// Tensor.add(other) makes inside TorchSharp) is unreachable once its handle has been read, so the
/// garbage collector may finalize it, freeing the native scalar, while libtorch still reads it. Under the
/// scoring workers' allocation rate this happened: Measure-Fssd failed about one run in five over 20,000
/// files with "Expected false to be true" from c10::Scalar::toFloat inside add_. The engine therefore
/// passes only Scalars it holds (a using variable, or <see cref="Fssd.Engine.Runtime.HeldScalars"/>);
/// this test reads the engine's IL and names every call that would make a temporary one.
/// </summary>
public class ScalarLifetimeTests
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void The_engine_never_passes_libtorch_a_Scalar_it_does_not_hold()
    {
        var offenders = new List<string>();
        foreach (var assembly in new[] { typeof(Fssd.Engine.Scoring.FssdScorer).Assembly })
            foreach (var type in assembly.GetTypes())
                foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
                    foreach (var callee in Callees(method))
                        if (MakesTemporaryScalar(callee))
                            offenders.Add($"{type.FullName}.{method.Name} calls {callee.DeclaringType?.Name}.{callee}");
        Assert.True(offenders.Count == 0, "Calls that hand libtorch a Scalar nobody holds:\n" + string.Join("\n", offenders.Distinct()));
    }

    [Fact]
    public void The_IL_reader_finds_a_temporary_Scalar()
    {
        // The reader itself must see the pattern it guards against: this method converts a double.
        var found = Callees(typeof(ScalarLifetimeTests).GetMethod(nameof(MakesOne), All)!).Any(MakesTemporaryScalar);
        Assert.True(found, "the IL reader missed an implicit double-to-Scalar conversion");
    }

    private static TorchSharp.Scalar MakesOne(double value) => value;

    [Fact]
    public void The_IL_reader_finds_a_Scalar_TorchSharp_makes_and_drops_inside_a_call()
    {
        var vectorNorm = typeof(TorchSharp.torch.linalg).GetMethods().First(m => m.Name == "vector_norm");
        Assert.True(MakesTemporaryScalar(vectorNorm), "the IL reader missed the Scalar linalg.vector_norm makes from its ord");
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MethodBase, bool> MakesOwn = new();

    /// <summary>
    /// Whether a TorchSharp method makes a Scalar from a number itself (ToScalar or the implicit conversion)
    /// and never disposes it: linalg.vector_norm(input, double ord) hands libtorch ord.ToScalar().Handle,
    /// which the collector may free during the call (it did: "Expected false to be true" from
    /// c10::Scalar::toDouble inside vector_norm, in a bfloat16 scoring run over 20,000 files).
    /// </summary>
    private static bool MakesItsOwnTemporaryScalar(MethodBase callee) => MakesOwn.GetOrAdd(callee, m =>
    {
        var inner = Callees(m).ToList();
        bool makes = inner.Any(c => (c.DeclaringType == typeof(TorchSharp.Scalar) && c.Name == "op_Implicit")
                                    || (c.Name == "ToScalar" && c is MethodInfo { ReturnType: var r } && r == typeof(TorchSharp.Scalar)));
        bool disposes = inner.Any(c => c.DeclaringType == typeof(TorchSharp.Scalar) && c.Name == "Dispose");
        return makes && !disposes;
    });

    private static bool MakesTemporaryScalar(MethodBase callee)
    {
        var declaring = callee.DeclaringType;
        if (declaring == typeof(TorchSharp.Scalar) && callee.Name == "op_Implicit") return true;
        if (declaring?.Assembly == typeof(TorchSharp.torch).Assembly && declaring != typeof(TorchSharp.Scalar)
            && callee.Name != "ToScalar" && MakesItsOwnTemporaryScalar(callee)) return true;
        if (declaring != typeof(TorchSharp.torch.Tensor)) return false;
        int arity = callee.GetParameters().Length;
        return callee.Name switch
        {
            // TorchSharp calls the two-argument overload with an alpha (or value) of 1 it makes itself.
            "add" or "add_" => arity == 1,
            "addcdiv" or "addcdiv_" => arity == 2,
            "op_Addition" => true,
            _ => callee.Name.StartsWith("op_", StringComparison.Ordinal)
                 && callee.GetParameters().Any(p => p.ParameterType != typeof(TorchSharp.torch.Tensor)),
        };
    }

    /// <summary>The methods a method's IL calls (call, callvirt, newobj, ldftn).</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception) { yield break; }
        if (il is null) yield break;
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break;
            int operand = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (op.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee = null;
                try
                {
                    callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i),
                        method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null,
                        method.IsGenericMethod ? method.GetGenericArguments() : null);
                }
                catch (Exception)
                {
                }
                if (callee is not null) yield return callee;
            }
            i += operand;
        }
    }
}
