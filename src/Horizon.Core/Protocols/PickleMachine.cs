using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Horizon.Core.Protocols;

/// <summary>The pickle virtual machine behind <see cref="CarbonPickleDecoder"/>: runs the opcodes that
/// data needs (<see cref="PickleOpcode"/>) over a stack, a memo, tuples, lists and a string arena,
/// with every cost bounded by the frame's length; it knows nothing of carbon. Values are reached
/// through <see cref="Length"/>, <see cref="Item"/> and <see cref="Text"/>.</summary>
internal sealed class PickleMachine
{
    private const int MaxEntries = 1 << 20;
    private const int RetainEntries = 1 << 16;

    internal enum Kind : byte { Unset, None, Bool, Int, Float, Str, StrArena, Tuple, List }

    // A pickle value: Bits holds an integer or a double's bits; A/B locate strings, tuples, lists.
    internal struct Value
    {
        public Kind Kind;
        public long Bits;
        public int A;
        public int B;
    }

    private Value[] _stack = new Value[256];
    private int _sp;
    private int[] _marks = new int[64];
    private int _mp;
    private Value[] _tupleItems = new Value[1024];
    private int _tupleCount;
    private Value[] _memo = new Value[1024];
    private int _memoCount;
    private readonly List<List<Value>> _lists = [];
    private int _listCount;
    private byte[] _arena = new byte[4096];
    private int _arenaLength;
    private int _frameLength;

    /// <summary>After an error: the opcode and offset where decoding stopped, for the log.</summary>
    public string ErrorDetail { get; private set; } = "";

    private void Reset(int frameLength)
    {
        _sp = 0;
        _mp = 0;
        _tupleCount = 0;
        _listCount = 0;
        _arenaLength = 0;
        ErrorDetail = "";
        _frameLength = frameLength;
    }

    /// <summary>After a frame: lets go of buffers one huge frame grew, so an idle connection
    /// does not keep them.</summary>
    public void Release()
    {
        Array.Clear(_memo, 0, _memoCount);
        _memoCount = 0;
        if (_tupleItems.Length > RetainEntries)
        {
            _tupleItems = new Value[1024];
        }
        if (_memo.Length > RetainEntries)
        {
            _memo = new Value[1024];
        }
        if (_stack.Length > RetainEntries)
        {
            _stack = new Value[256];
        }
        if (_arena.Length > RetainEntries * 16)
        {
            _arena = new byte[4096];
        }
        if (_lists.Count > 64)
        {
            _lists.RemoveRange(64, _lists.Count - 64);
        }
        for (var i = 0; i < _lists.Count; i++)
        {
            if (_lists[i].Capacity > RetainEntries)
            {
                _lists[i] = [];
            }
        }
    }

    private PickleError Fail(PickleError error, string detail)
    {
        ErrorDetail = detail;
        return error;
    }

    private static string OpName(PickleOpcode opcode)
    {
        var op = (byte)opcode;
        return op is >= 0x20 and < 0x7f ? $"0x{op:x2} '{(char)op}'" : $"0x{op:x2}";
    }

    /// <summary>Runs one frame's opcodes; on success <paramref name="result"/> is what STOP found.</summary>
    public PickleError Run(ReadOnlySpan<byte> p, out Value result)
    {
        Reset(p.Length);
        result = default;
        var pos = 0;
        while (pos < p.Length)
        {
            var at = pos;
            var op = (PickleOpcode)p[pos++];
            var e = PickleError.None;
            switch (op)
            {
                case PickleOpcode.Proto:
                    if (pos >= p.Length)
                    {
                        return Fail(PickleError.Truncated, "truncated PROTO");
                    }
                    if (p[pos] > 5)
                    {
                        return Fail(PickleError.UnsupportedProtocol, $"pickle protocol {p[pos]}");
                    }
                    pos++;
                    break;
                case PickleOpcode.Frame:
                    if (p.Length - pos < 8)
                    {
                        return Fail(PickleError.Truncated, "truncated FRAME");
                    }
                    pos += 8;
                    break;
                case PickleOpcode.Mark:
                    if (_mp == _marks.Length)
                    {
                        Array.Resize(ref _marks, _marks.Length * 2);
                    }
                    _marks[_mp++] = _sp;
                    break;
                case PickleOpcode.Stop:
                    if (_sp == 0)
                    {
                        return Fail(PickleError.StackUnderflow, "STOP with an empty stack");
                    }
                    result = _stack[_sp - 1];
                    return PickleError.None;
                case PickleOpcode.None:
                    e = Push(new Value { Kind = Kind.None });
                    break;
                case PickleOpcode.NewTrue:
                case PickleOpcode.NewFalse:
                    e = Push(new Value { Kind = Kind.Bool, Bits = op == PickleOpcode.NewTrue ? 1 : 0 });
                    break;
                case PickleOpcode.Int:
                case PickleOpcode.Long:
                    e = TextInteger(op, p, ref pos, at);
                    break;
                case PickleOpcode.BinInt:
                    if (p.Length - pos < 4)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = BinaryPrimitives.ReadInt32LittleEndian(p[pos..]) });
                    pos += 4;
                    break;
                case PickleOpcode.BinInt1:
                    if (p.Length - pos < 1)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT1");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = p[pos++] });
                    break;
                case PickleOpcode.BinInt2:
                    if (p.Length - pos < 2)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT2");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = BinaryPrimitives.ReadUInt16LittleEndian(p[pos..]) });
                    pos += 2;
                    break;
                case PickleOpcode.Long1:
                case PickleOpcode.Long4:
                    e = BinaryLong(op, p, ref pos, at);
                    break;
                case PickleOpcode.Float:
                {
                    if (!ReadLine(p, ref pos, out var line))
                    {
                        return Fail(PickleError.Truncated, "truncated FLOAT");
                    }
                    if (!Utf8Number.TryParseDouble(line, out var dv))
                    {
                        return Fail(PickleError.BadArgument, $"bad float at offset {at}");
                    }
                    e = Push(FloatValue(dv));
                    break;
                }
                case PickleOpcode.BinFloat:
                    if (p.Length - pos < 8)
                    {
                        return Fail(PickleError.Truncated, "truncated BINFLOAT");
                    }
                    e = Push(FloatValue(BinaryPrimitives.ReadDoubleBigEndian(p[pos..])));
                    pos += 8;
                    break;
                case PickleOpcode.String:
                {
                    if (!ReadLine(p, ref pos, out var line))
                    {
                        return Fail(PickleError.Truncated, "truncated STRING");
                    }
                    if (!UnquoteInto(line, out var str))
                    {
                        return Fail(PickleError.BadArgument, $"bad quoted string at offset {at}");
                    }
                    e = Push(str);
                    break;
                }
                case PickleOpcode.Unicode:
                {
                    if (!ReadLine(p, ref pos, out var line))
                    {
                        return Fail(PickleError.Truncated, "truncated UNICODE");
                    }
                    if (!RawUnicodeInto(line, payloadOffset: pos - line.Length - 1, out var str))
                    {
                        return Fail(PickleError.BadArgument, $"bad unicode escape at offset {at}");
                    }
                    e = Push(str);
                    break;
                }
                case PickleOpcode.BinString:
                case PickleOpcode.BinUnicode:
                case PickleOpcode.BinBytes:
                case PickleOpcode.ShortBinString:
                case PickleOpcode.ShortBinUnicode:
                case PickleOpcode.ShortBinBytes:
                case PickleOpcode.BinUnicode8:
                case PickleOpcode.BinBytes8:
                    e = BinaryString(op, p, ref pos, at);
                    break;
                case PickleOpcode.EmptyTuple:
                    e = Push(new Value { Kind = Kind.Tuple, A = _tupleCount, B = 0 });
                    break;
                case PickleOpcode.Tuple1:
                case PickleOpcode.Tuple2:
                case PickleOpcode.Tuple3:
                    e = MakeTuple(op - PickleOpcode.Tuple1 + 1);
                    break;
                case PickleOpcode.Tuple:
                {
                    if (!PopMark(out var mark))
                    {
                        return Fail(PickleError.StackUnderflow, "TUPLE without a MARK");
                    }
                    e = MakeTuple(_sp - mark);
                    break;
                }
                case PickleOpcode.EmptyList:
                    e = Push(NewList());
                    break;
                case PickleOpcode.List:
                    e = ListFromMark();
                    break;
                case PickleOpcode.Append:
                    if (_sp < 2 || _stack[_sp - 2].Kind != Kind.List)
                    {
                        return Fail(PickleError.StackUnderflow, $"APPEND without a list at offset {at}");
                    }
                    if (_tupleCount + _sp > MaxEntries || _lists[_stack[_sp - 2].A].Count >= MaxEntries)
                    {
                        return Fail(PickleError.TooLarge, "too many items");
                    }
                    _lists[_stack[_sp - 2].A].Add(_stack[_sp - 1]);
                    _sp--;
                    break;
                case PickleOpcode.Appends:
                    e = AppendsFromMark(at);
                    break;
                case PickleOpcode.Put:
                case PickleOpcode.Get:
                {
                    if (!ReadLine(p, ref pos, out var line) || !Utf8Number.TryParseInt64(line, out var id) || id < 0 || id >= MaxEntries)
                    {
                        return Fail(PickleError.BadArgument, $"bad memo id at offset {at}");
                    }
                    e = op == PickleOpcode.Put ? Put((int)id) : Get((int)id);
                    break;
                }
                case PickleOpcode.BinPut:
                case PickleOpcode.BinGet:
                    if (p.Length - pos < 1)
                    {
                        return Fail(PickleError.Truncated, "truncated memo id");
                    }
                    e = op == PickleOpcode.BinPut ? Put(p[pos]) : Get(p[pos]);
                    pos++;
                    break;
                case PickleOpcode.LongBinPut:
                case PickleOpcode.LongBinGet:
                {
                    if (p.Length - pos < 4)
                    {
                        return Fail(PickleError.Truncated, "truncated memo id");
                    }
                    var id = BinaryPrimitives.ReadUInt32LittleEndian(p[pos..]);
                    pos += 4;
                    if (id >= MaxEntries)
                    {
                        return Fail(PickleError.TooLarge, "memo id too large");
                    }
                    e = op == PickleOpcode.LongBinPut ? Put((int)id) : Get((int)id);
                    break;
                }
                case PickleOpcode.Memoize:
                    e = Put(_memoCount);
                    break;
                default:
                    return Fail(PickleError.UnsupportedOpcode, $"opcode {OpName(op)} at offset {at}");
            }
            if (e != PickleError.None)
            {
                return e;
            }
        }
        return Fail(PickleError.Truncated, "no STOP opcode");
    }

    /// <summary>INT and LONG: a decimal integer as text (INT's "01" and "00" are True and False).</summary>
    private PickleError TextInteger(PickleOpcode op, ReadOnlySpan<byte> p, ref int pos, int at)
    {
        if (!ReadLine(p, ref pos, out var line))
        {
            return Fail(PickleError.Truncated, "truncated INT/LONG");
        }
        if (op == PickleOpcode.Long && line.Length > 0 && line[^1] == (byte)'L')
        {
            line = line[..^1];
        }
        Value v;
        if (op == PickleOpcode.Int && line.SequenceEqual("01"u8))
        {
            v = new Value { Kind = Kind.Bool, Bits = 1 };
        }
        else if (op == PickleOpcode.Int && line.SequenceEqual("00"u8))
        {
            v = new Value { Kind = Kind.Bool, Bits = 0 };
        }
        else if (Utf8Number.TryParseInt64(line, out var iv))
        {
            v = new Value { Kind = Kind.Int, Bits = iv };
        }
        else if (Utf8Number.TryParseDouble(line, out var dv) && line.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0)
        {
            v = FloatValue(dv); // an integer beyond 64 bits
        }
        else
        {
            return Fail(PickleError.BadArgument, $"bad integer at offset {at}");
        }
        var e = Push(v);
        return e;
    }

    /// <summary>LONG1 and LONG4: a little-endian two's complement integer.</summary>
    private PickleError BinaryLong(PickleOpcode op, ReadOnlySpan<byte> p, ref int pos, int at)
    {
        int n;
        if (op == PickleOpcode.Long1)
        {
            if (p.Length - pos < 1)
            {
                return Fail(PickleError.Truncated, "truncated LONG1");
            }
            n = p[pos++];
        }
        else
        {
            if (p.Length - pos < 4)
            {
                return Fail(PickleError.Truncated, "truncated LONG4");
            }
            n = BinaryPrimitives.ReadInt32LittleEndian(p[pos..]);
            pos += 4;
            if (n < 0 || n > 64)
            {
                return Fail(PickleError.BadArgument, $"LONG4 of {n} bytes");
            }
        }
        if (p.Length - pos < n)
        {
            return Fail(PickleError.Truncated, "truncated long integer");
        }
        var e = Push(LongValue(p.Slice(pos, n)));
        pos += n;
        return e;
    }

    /// <summary>The length-prefixed strings and bytes, kept as a slice of the frame.</summary>
    private PickleError BinaryString(PickleOpcode op, ReadOnlySpan<byte> p, ref int pos, int at)
    {
        var lengthSize = op switch
        {
            PickleOpcode.ShortBinString or PickleOpcode.ShortBinUnicode or PickleOpcode.ShortBinBytes => 1,
            PickleOpcode.BinUnicode8 or PickleOpcode.BinBytes8 => 8,
            _ => 4,
        };
        if (p.Length - pos < lengthSize)
        {
            return Fail(PickleError.Truncated, $"truncated string length ({OpName(op)})");
        }
        long n = lengthSize switch
        {
            1 => p[pos],
            4 => BinaryPrimitives.ReadUInt32LittleEndian(p[pos..]),
            _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(p[pos..]), long.MaxValue),
        };
        pos += lengthSize;
        if (p.Length - pos < n)
        {
            return Fail(PickleError.Truncated, $"truncated string ({OpName(op)})");
        }
        var e = Push(new Value { Kind = Kind.Str, A = pos, B = (int)n });
        pos += (int)n;
        return e;
    }

    /// <summary>LIST: a list of the items since the last MARK.</summary>
    private PickleError ListFromMark()
    {
        if (!PopMark(out var mark))
        {
            return Fail(PickleError.StackUnderflow, "LIST without a MARK");
        }
        var list = NewList();
        var items = _lists[list.A];
        for (var i = mark; i < _sp; i++)
        {
            items.Add(_stack[i]);
        }
        _sp = mark;
        var e = Push(list);
        return e;
    }

    /// <summary>APPENDS: adds the items since the last MARK to the list below the mark.</summary>
    private PickleError AppendsFromMark(int at)
    {
        if (!PopMark(out var mark) || mark < 1 || _stack[mark - 1].Kind != Kind.List)
        {
            return Fail(PickleError.StackUnderflow, $"APPENDS without a list at offset {at}");
        }
        var items = _lists[_stack[mark - 1].A];
        if (items.Count + (_sp - mark) > MaxEntries)
        {
            return Fail(PickleError.TooLarge, "too many items");
        }
        for (var i = mark; i < _sp; i++)
        {
            items.Add(_stack[i]);
        }
        _sp = mark;
        return PickleError.None;
    }

    private static Value FloatValue(double d) => new() { Kind = Kind.Float, Bits = BitConverter.DoubleToInt64Bits(d) };

    private static Value LongValue(ReadOnlySpan<byte> littleEndianTwosComplement)
    {
        if (littleEndianTwosComplement.Length == 0)
        {
            return new Value { Kind = Kind.Int, Bits = 0 };
        }
        if (littleEndianTwosComplement.Length <= 8)
        {
            long v = 0;
            for (var i = littleEndianTwosComplement.Length - 1; i >= 0; i--)
            {
                v = (v << 8) | littleEndianTwosComplement[i];
            }
            var shift = 64 - 8 * littleEndianTwosComplement.Length;
            v = shift == 0 ? v : (v << shift) >> shift; // sign-extend
            return new Value { Kind = Kind.Int, Bits = v };
        }
        return FloatValue((double)new BigInteger(littleEndianTwosComplement, isUnsigned: false, isBigEndian: false));
    }

    private PickleError Push(Value v)
    {
        if (_sp == _stack.Length)
        {
            if (_stack.Length >= MaxEntries)
            {
                return Fail(PickleError.TooLarge, "stack too deep");
            }
            Array.Resize(ref _stack, _stack.Length * 2);
        }
        _stack[_sp++] = v;
        return PickleError.None;
    }

    private bool PopMark(out int mark)
    {
        if (_mp == 0)
        {
            mark = 0;
            return false;
        }
        mark = _marks[--_mp];
        return mark <= _sp;
    }

    private PickleError MakeTuple(int n)
    {
        if (_sp < n)
        {
            return Fail(PickleError.StackUnderflow, "tuple of more items than the stack holds");
        }
        if (_tupleCount + n > _tupleItems.Length)
        {
            if (_tupleCount + n > MaxEntries)
            {
                return Fail(PickleError.TooLarge, "too many tuple items");
            }
            Array.Resize(ref _tupleItems, Math.Max(_tupleItems.Length * 2, _tupleCount + n));
        }
        var start = _tupleCount;
        Array.Copy(_stack, _sp - n, _tupleItems, start, n);
        _tupleCount += n;
        _sp -= n;
        return Push(new Value { Kind = Kind.Tuple, A = start, B = n });
    }

    private Value NewList()
    {
        if (_listCount == _lists.Count)
        {
            _lists.Add([]);
        }
        _lists[_listCount].Clear();
        return new Value { Kind = Kind.List, A = _listCount++ };
    }

    private PickleError Put(int id)
    {
        if (_sp == 0)
        {
            return Fail(PickleError.StackUnderflow, "PUT with an empty stack");
        }
        // A pickler numbers its memo from 0, one entry per PUT of at least two bytes: an id at or
        // past the frame's length is not from one, and would make the memo cost more than the frame.
        if (id >= _frameLength)
        {
            return Fail(PickleError.TooLarge, $"memo id {id} beyond a {_frameLength}-byte frame");
        }
        if (id >= _memo.Length)
        {
            Array.Resize(ref _memo, Math.Max(_memo.Length * 2, id + 1));
        }
        _memo[id] = _stack[_sp - 1];
        _memoCount = Math.Max(_memoCount, id + 1);
        return PickleError.None;
    }

    private PickleError Get(int id)
    {
        if (id >= _memoCount || _memo[id].Kind == Kind.Unset)
        {
            return Fail(PickleError.BadArgument, $"memo id {id} was never stored");
        }
        return Push(_memo[id]);
    }

    private static bool ReadLine(ReadOnlySpan<byte> p, ref int pos, out ReadOnlySpan<byte> line)
    {
        var nl = p[pos..].IndexOf((byte)'\n');
        if (nl < 0)
        {
            line = default;
            return false;
        }
        line = p.Slice(pos, nl);
        pos += nl + 1;
        return true;
    }

    private Span<byte> ArenaReserve(int n)
    {
        if (_arenaLength + n > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + n));
        }
        return _arena.AsSpan(_arenaLength, n);
    }

    // Decodes a Python 2 repr such as 'web.cpu' or "it's" (with \\ \' \" \n \r \t \xhh and octal).
    private bool UnquoteInto(ReadOnlySpan<byte> text, out Value value)
    {
        value = default;
        if (text.Length < 2 || (text[0] != (byte)'\'' && text[0] != (byte)'"') || text[^1] != text[0])
        {
            return false;
        }
        var body = text[1..^1];
        var dest = ArenaReserve(body.Length);
        var n = 0;
        for (var i = 0; i < body.Length; i++)
        {
            var b = body[i];
            if (b != (byte)'\\')
            {
                dest[n++] = b;
                continue;
            }
            if (++i >= body.Length)
            {
                return false;
            }
            switch (body[i])
            {
                case (byte)'\\': dest[n++] = (byte)'\\'; break;
                case (byte)'\'': dest[n++] = (byte)'\''; break;
                case (byte)'"': dest[n++] = (byte)'"'; break;
                case (byte)'n': dest[n++] = (byte)'\n'; break;
                case (byte)'r': dest[n++] = (byte)'\r'; break;
                case (byte)'t': dest[n++] = (byte)'\t'; break;
                case (byte)'a': dest[n++] = 7; break;
                case (byte)'b': dest[n++] = 8; break;
                case (byte)'f': dest[n++] = 12; break;
                case (byte)'v': dest[n++] = 11; break;
                case (byte)'x':
                    if (i + 2 >= body.Length || !TryHex(body.Slice(i + 1, 2), 2, out var hx))
                    {
                        return false;
                    }
                    dest[n++] = (byte)hx;
                    i += 2;
                    break;
                default:
                    if (body[i] is >= (byte)'0' and <= (byte)'7')
                    {
                        var o = 0;
                        var k = 0;
                        while (k < 3 && i < body.Length && body[i] is >= (byte)'0' and <= (byte)'7')
                        {
                            o = o * 8 + (body[i] - '0');
                            i++;
                            k++;
                        }
                        i--;
                        dest[n++] = (byte)o;
                        break;
                    }
                    return false;
            }
        }
        value = new Value { Kind = Kind.StrArena, A = _arenaLength, B = n };
        _arenaLength += n;
        return true;
    }

    // Decodes raw-unicode-escape: bytes are Latin-1 characters, except \uXXXX and \UXXXXXXXX.
    private bool RawUnicodeInto(ReadOnlySpan<byte> text, int payloadOffset, out Value value)
    {
        if (!text.ContainsAnyExceptInRange((byte)0, (byte)0x7f) && text.IndexOf((byte)'\\') < 0)
        {
            value = new Value { Kind = Kind.Str, A = payloadOffset, B = text.Length };
            return true;
        }
        value = default;
        var dest = ArenaReserve(text.Length * 4);
        var n = 0;
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (cp == '\\' && i + 1 < text.Length && (text[i + 1] == (byte)'u' || text[i + 1] == (byte)'U'))
            {
                var digits = text[i + 1] == (byte)'u' ? 4 : 8;
                if (i + 2 + digits > text.Length || !TryHex(text.Slice(i + 2, digits), digits, out cp))
                {
                    return false;
                }
                i += 1 + digits;
            }
            if (!Rune.TryCreate(cp, out var rune))
            {
                return false;
            }
            var w = rune.EncodeToUtf8(utf8);
            utf8[..w].CopyTo(dest[n..]);
            n += w;
        }
        value = new Value { Kind = Kind.StrArena, A = _arenaLength, B = n };
        _arenaLength += n;
        return true;
    }

    private static bool TryHex(ReadOnlySpan<byte> s, int digits, out int value)
    {
        value = 0;
        if (s.Length != digits)
        {
            return false;
        }
        foreach (var c in s)
        {
            int d = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                return false;
            }
            value = value * 16 + d;
        }
        return true;
    }

    /// <summary>Items in a tuple or list.</summary>
    public int Length(Value v) => v.Kind == Kind.Tuple ? v.B : _lists[v.A].Count;

    /// <summary>Item <paramref name="i"/> of a tuple or list.</summary>
    public Value Item(Value v, int i) => v.Kind == Kind.Tuple ? _tupleItems[v.A + i] : _lists[v.A][i];

    /// <summary>A string's bytes (in the frame, or decoded into the arena).</summary>
    public ReadOnlySpan<byte> Text(ReadOnlySpan<byte> payload, Value v) =>
        v.Kind == Kind.Str ? payload.Slice(v.A, v.B) : _arena.AsSpan(v.A, v.B);
}
