using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using static TorchSharp.torch;

namespace Fssd.Engine.Models;

/// <summary>
/// Reads the state_dict of a torch.save archive (a zip holding data.pkl and one file per storage) without
/// running anything from the file. data.pkl is interpreted by a pickle reader that knows the opcodes
/// torch.save writes and accepts exactly the callables a state_dict needs (an OrderedDict, the tensor
/// rebuilders, the storage types): any other — os.system, a model's class — is an error naming it, so a
/// crafted file can neither run code nor name a class to instantiate. Every tensor is checked before any
/// memory is set aside for it: its storage must be a stored (uncompressed) entry of exactly the declared
/// number of bytes, and its shape, strides and offset must lie inside that storage, in 64-bit arithmetic.
/// </summary>
public static class PyTorchArchive
{
    /// <summary>The state_dict, name → tensor (CPU, contiguous), in the file's order.</summary>
    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var zip = new ZipArchive(file, ZipArchiveMode.Read);
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1)
            throw Invalid(path, pickles.Count == 0 ? "the archive has no data.pkl" : "the archive has more than one data.pkl");
        var pickle = pickles[0];
        string prefix = pickle.FullName[..^"data.pkl".Length];
        if (pickle.Length > 256L << 20) throw Invalid(path, $"its data.pkl is {pickle.Length} bytes, more than a state_dict's index needs");
        byte[] program;
        using (var s = pickle.Open()) program = ReadExactly(s, pickle.Length, path, "data.pkl");
        object? root = new PickleReader(program, path).Run();
        if (root is not PickleDict dict)
            throw Invalid(path, $"it holds {Describe(root)}, not a state_dict; save model.state_dict(), not the model or a checkpoint dictionary");

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name) throw Invalid(path, $"it has a key of type {Describe(key)}; a state_dict's keys are names");
                if (value is not TensorSpec spec)
                    throw Invalid(path, $"'{name}' is {Describe(value)}; a state_dict holds tensors only. Save model.state_dict(), not a checkpoint dictionary or the whole model");
                if (!storages.TryGetValue(spec.Storage.Key, out var bytes))
                {
                    bytes = ReadStorage(zip, prefix, spec.Storage, path);
                    storages[spec.Storage.Key] = bytes;
                }
                result[name] = Build(spec, bytes, path, name);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    private static byte[] ReadStorage(ZipArchive zip, string prefix, StorageRef storage, string path)
    {
        var entry = zip.GetEntry(prefix + "data/" + storage.Key)
            ?? throw Invalid(path, $"storage '{storage.Key}' is named in data.pkl but not in the archive");
        long expected = checked(storage.Count * ElementSize(storage.Type));
        if (entry.Length != expected)
            throw Invalid(path, $"storage '{storage.Key}' should hold {storage.Count} {storage.Type} values ({expected} bytes) but its entry has {entry.Length}");
        // torch.save stores tensors uncompressed; a compressed entry could expand far beyond the file.
        if (entry.CompressedLength != entry.Length)
            throw Invalid(path, $"storage '{storage.Key}' is compressed, which torch.save never does");
        if (expected > Array.MaxLength) throw Invalid(path, $"storage '{storage.Key}' has {expected} bytes, more than this module reads in one piece (2 GB)");
        using var s = entry.Open();
        return ReadExactly(s, expected, path, $"storage '{storage.Key}'");
    }

    private static Tensor Build(TensorSpec spec, byte[] bytes, string path, string name)
    {
        long count = spec.Storage.Count;
        if (spec.Shape.Length != spec.Stride.Length)
            throw Invalid(path, $"'{name}' has {spec.Shape.Length} sizes but {spec.Stride.Length} strides");
        if (spec.Offset < 0 || spec.Shape.Any(d => d < 0) || spec.Stride.Any(d => d < 0))
            throw Invalid(path, $"'{name}' has a negative size, stride or offset");
        long elements = 1, last = spec.Offset;
        try
        {
            for (int i = 0; i < spec.Shape.Length; i++)
            {
                elements = checked(elements * spec.Shape[i]);
                if (spec.Shape[i] > 0) last = checked(last + (spec.Shape[i] - 1) * spec.Stride[i]);
            }
        }
        catch (OverflowException)
        {
            throw Invalid(path, $"'{name}' has shape [{string.Join(", ", spec.Shape)}], whose size overflows 64 bits");
        }
        if (elements > 0 && last >= count)
            throw Invalid(path, $"'{name}' has shape [{string.Join(", ", spec.Shape)}] and strides [{string.Join(", ", spec.Stride)}] from offset {spec.Offset}, reaching past its storage of {count} values");
        var dtype = spec.Storage.Type;
        using var flat = empty(new[] { count }, dtype);
        flat.bytes = bytes;
        using var view = flat.as_strided(spec.Shape, spec.Stride, spec.Offset);
        return view.contiguous().clone();
    }

    private static byte[] ReadExactly(Stream stream, long length, string path, string what)
    {
        var buffer = new byte[length];
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read != buffer.Length) throw Invalid(path, $"{what} ends after {read} of {length} bytes");
        return buffer;
    }

    internal static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static FssdModelException Invalid(string path, string cause) => new($"'{path}' is not a state_dict this module reads: {cause}.");

    internal static string Describe(object? value) => value switch
    {
        null => "None",
        PickleDict => "a dictionary",
        TensorSpec => "a tensor",
        string s => $"the string '{(s.Length > 40 ? s[..40] + "…" : s)}'",
        object[] => "a tuple",
        List<object?> => "a list",
        _ => value.GetType().Name,
    };

    /// <summary>A storage a tensor views: its type, its entry name under data/, and its element count.</summary>
    internal sealed record StorageRef(ScalarType Type, string Key, long Count);

    /// <summary>What _rebuild_tensor_v2 would make: a view of a storage.</summary>
    internal sealed record TensorSpec(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    /// <summary>A pickled dict or OrderedDict, in insertion order.</summary>
    internal sealed class PickleDict
    {
        public List<(object? Key, object? Value)> Items { get; } = new();

        public void Set(object? key, object? value)
        {
            int i = Items.FindIndex(p => Equals(p.Key, key));
            if (i >= 0) Items[i] = (key, value);
            else Items.Add((key, value));
        }
    }

    /// <summary>A callable the reader accepts, resolved from a GLOBAL.</summary>
    private sealed record Callable(string Module, string Name);

    /// <summary>A storage type named by a GLOBAL (torch.FloatStorage …), used in persistent ids.</summary>
    private sealed record StorageType(ScalarType Type);

    /// <summary>
    /// The pickle virtual machine, restricted: data opcodes of protocols 2–4 (what torch.save writes),
    /// GLOBAL and STACK_GLOBAL resolved against an allow-list, REDUCE only on allowed callables, BUILD
    /// ignored (it carries the state_dict's _metadata), BINPERSID only for storages.
    /// </summary>
    private sealed class PickleReader
    {
        private static readonly object Mark = new();
        private readonly byte[] _code;
        private readonly string _path;
        private readonly List<object?> _stack = new();
        private readonly Dictionary<long, object?> _memo = new();
        private int _pc;

        public PickleReader(byte[] code, string path)
        {
            _code = code;
            _path = path;
        }

        public object? Run()
        {
            // A bound on the work: a data.pkl of n bytes executes at most n opcodes.
            while (_pc < _code.Length)
            {
                byte op = _code[_pc++];
                switch (op)
                {
                    case 0x80: _pc++; break; // PROTO
                    case 0x95: _pc += 8; break; // FRAME
                    case (byte)'.': return Pop(); // STOP
                    case (byte)'(': _stack.Add(Mark); break; // MARK
                    case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                    case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                    case (byte)'d': Push(ToDict(PopMark())); break; // DICT
                    case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                    case (byte)'l': Push(PopMark()); break; // LIST
                    case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                    case (byte)'e': { var items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                    case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek()).Set(k, v); break; } // SETITEM
                    case (byte)'u': { var items = PopMark(); var d = AsDict(Peek()); for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]); if (items.Count % 2 != 0) throw Bad("SETITEMS with an odd number of items"); break; } // SETITEMS
                    case (byte)'N': Push(null); break; // NONE
                    case 0x88: Push(true); break; // NEWTRUE
                    case 0x89: Push(false); break; // NEWFALSE
                    case (byte)'K': Push((long)Byte()); break; // BININT1
                    case (byte)'M': Push((long)UInt16()); break; // BININT2
                    case (byte)'J': Push((long)Int32()); break; // BININT
                    case 0x8A: Push(Long(Byte())); break; // LONG1
                    case (byte)'G': Push(BitConverter.Int64BitsToDouble(System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(Take(8)))); break; // BINFLOAT
                    case (byte)'X': Push(Utf8(Int32())); break; // BINUNICODE
                    case 0x8C: Push(Utf8(Byte())); break; // SHORT_BINUNICODE
                    case (byte)'T': Push(Latin1(Int32())); break; // BINSTRING
                    case (byte)'U': Push(Latin1(Byte())); break; // SHORT_BINSTRING
                    case (byte)'q': _memo[Byte()] = Peek(); break; // BINPUT
                    case (byte)'r': _memo[(uint)Int32()] = Peek(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                    case (byte)'h': Push(Memo(Byte())); break; // BINGET
                    case (byte)'j': Push(Memo((uint)Int32())); break; // LONG_BINGET
                    case (byte)'c': Push(Global(Line(), Line())); break; // GLOBAL
                    case 0x93: { var name = Pop(); var module = Pop(); Push(Global(module as string ?? "?", name as string ?? "?")); break; } // STACK_GLOBAL
                    case (byte)'R': { var args = Pop(); var f = Pop(); Push(Reduce(f, args as object?[] ?? throw Bad("REDUCE without an argument tuple"))); break; } // REDUCE
                    case (byte)'b': Pop(); break; // BUILD: the state (e.g. _metadata) is not needed
                    case (byte)'Q': Push(Persistent(Pop())); break; // BINPERSID
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'2': Push(Peek()); break; // DUP
                    default:
                        throw Bad($"pickle opcode 0x{op:X2} ('{(op >= 32 && op < 127 ? (char)op : '?')}') at byte {_pc - 1}, which torch.save does not write for a state_dict");
                }
            }
            throw Bad("data.pkl ends without a STOP opcode");
        }

        private object Global(string module, string name)
        {
            string full = module + "." + name;
            switch (full)
            {
                case "collections.OrderedDict":
                case "torch._utils._rebuild_tensor_v2":
                case "torch._utils._rebuild_tensor":
                case "torch._utils._rebuild_parameter":
                    return new Callable(module, name);
            }
            if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
            {
                var type = name switch
                {
                    "FloatStorage" => ScalarType.Float32,
                    "DoubleStorage" => ScalarType.Float64,
                    "HalfStorage" => ScalarType.Float16,
                    "BFloat16Storage" => ScalarType.BFloat16,
                    "LongStorage" => ScalarType.Int64,
                    "IntStorage" => ScalarType.Int32,
                    "ShortStorage" => ScalarType.Int16,
                    "CharStorage" => ScalarType.Int8,
                    "ByteStorage" => ScalarType.Byte,
                    "BoolStorage" => ScalarType.Bool,
                    _ => throw Bad($"its tensors use the storage type torch.{name}, which this module does not read (float, double, half, bfloat16 and integer types)"),
                };
                return new StorageType(type);
            }
            throw Bad($"it refers to the Python callable '{full}'; the module reads plain state_dicts and never runs or instantiates anything a file names " +
                "(save model.state_dict(), not the whole model)");
        }

        private object? Reduce(object? f, object?[] args)
        {
            if (f is not Callable callable) throw Bad($"REDUCE on {Describe(f)}");
            switch (callable.Name)
            {
                case "OrderedDict":
                    return new PickleDict();
                case "_rebuild_parameter":
                    return args.Length >= 1 && args[0] is TensorSpec t ? t : throw Bad("_rebuild_parameter without a tensor");
                default:
                    // _rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...)
                    if (args.Length < 4 || args[0] is not StorageRef storage) throw Bad("a tensor rebuilt without a storage");
                    return new TensorSpec(storage, AsLong(args[1]), Longs(args[2]), Longs(args[3]));
            }
        }

        private object Persistent(object? pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not object?[] { Length: >= 5 } t || t[0] is not "storage" || t[1] is not StorageType type || t[2] is not string key)
                throw Bad("a persistent id that is not a storage reference");
            long count = AsLong(t[4]);
            if (count < 0) throw Bad($"storage '{key}' has {count} values");
            if (key.Length == 0 || key.Contains('/') || key.Contains('\\') || key.Contains("..", StringComparison.Ordinal))
                throw Bad($"a storage key '{key}' that is not a plain name");
            return new StorageRef(type.Type, key, count);
        }

        private long[] Longs(object? value) =>
            value is object?[] tuple ? tuple.Select(AsLong).ToArray() : throw Bad($"a size or stride that is {Describe(value)}, not a tuple");

        private long AsLong(object? value) => value is long l ? l : throw Bad($"a number that is {Describe(value)}");

        private static PickleDict ToDict(List<object?> items)
        {
            var d = new PickleDict();
            for (int i = 0; i + 1 < items.Count; i += 2) d.Set(items[i], items[i + 1]);
            return d;
        }

        private List<object?> AsList(object? value) => value as List<object?> ?? throw Bad($"APPEND to {Describe(value)}");

        private PickleDict AsDict(object? value) => value as PickleDict ?? throw Bad($"SETITEM on {Describe(value)}");

        private object? Memo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Bad($"memo entry {key} read before it was written");

        private void Push(object? value)
        {
            if (_stack.Count >= 1_000_000) throw Bad("the pickle stack grows past a million entries");
            _stack.Add(value);
        }

        private object? Pop()
        {
            if (_stack.Count == 0) throw Bad("the pickle stack is empty where a value is needed");
            var v = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            if (ReferenceEquals(v, Mark)) throw Bad("a MARK where a value is needed");
            return v;
        }

        private object? Peek() => _stack.Count > 0 && !ReferenceEquals(_stack[^1], Mark) ? _stack[^1] : throw Bad("the pickle stack is empty where a value is needed");

        private List<object?> PopMark()
        {
            int mark = _stack.FindLastIndex(v => ReferenceEquals(v, Mark));
            if (mark < 0) throw Bad("a collection without its MARK");
            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || _pc + n > _code.Length) throw Bad("data.pkl ends in the middle of an opcode");
            var span = _code.AsSpan(_pc, (int)n);
            _pc += (int)n;
            return span;
        }

        private byte Byte() => Take(1)[0];
        private int UInt16() => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        private int Int32() => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        private string Utf8(long n) => Encoding.UTF8.GetString(Take(n));
        private string Latin1(long n) => Encoding.Latin1.GetString(Take(n));

        private long Long(int n)
        {
            var bytes = Take(n);
            if (n > 8) throw Bad($"an integer of {n} bytes");
            long value = 0;
            for (int i = n - 1; i >= 0; i--) value = (value << 8) | bytes[i];
            if (n > 0 && n < 8 && (bytes[n - 1] & 0x80) != 0) value -= 1L << (8 * n);
            return value;
        }

        private string Line()
        {
            int end = Array.IndexOf(_code, (byte)'\n', _pc);
            if (end < 0 || end - _pc > 256) throw Bad("a GLOBAL name without its end of line");
            string s = Encoding.ASCII.GetString(_code, _pc, end - _pc);
            _pc = end + 1;
            return s;
        }

        private FssdModelException Bad(string cause) => Invalid(_path, cause);
    }
}
