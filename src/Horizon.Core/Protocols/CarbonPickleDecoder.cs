using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Horizon.Core.Metrics;

namespace Horizon.Core.Protocols;

/// <summary>Why a pickle frame was refused as a whole (the connection is then closed).</summary>
public enum PickleError : byte
{
    None,
    UnsupportedOpcode,
    UnsupportedProtocol,
    Truncated,
    StackUnderflow,
    NotAList,
    BadArgument,
    TooLarge,
}

/// <summary>Receives what a frame holds: accepted datapoints and rejected items.</summary>
public interface IPickleItemSink
{
    /// <summary>A well-formed datapoint. The name span is valid only during the call.</summary>
    void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value);

    /// <summary>One item of the list was refused; the rest of the frame goes on.</summary>
    void OnReject(RejectReason reason, ReadOnlySpan<byte> name);
}

/// <summary>Decodes the pickles carbon-relay sends: a list of <c>(name, (timestamp, value))</c>,
/// pickle protocols 0 to 2 as Python 2 and 3 write them (and the framing opcodes of protocols 4
/// and 5, which a Python 3 sender using its default protocol writes). Only the opcodes that data
/// needs are understood; any other opcode (GLOBAL, REDUCE, BUILD, INST, OBJ, ...) stops decoding
/// with an error, because those opcodes execute code in a real unpickler. All work is bounded by
/// the frame size; nothing is allocated per item once the internal buffers have grown.</summary>
public sealed class CarbonPickleDecoder
{
    private const int MaxEntries = 1 << 20;
    private const int RetainEntries = 1 << 16;

    private enum Kind : byte { Unset, None, Bool, Int, Float, Str, StrArena, Tuple, List }

    // A pickle value: Bits holds an integer or a double's bits; A/B locate strings, tuples, lists.
    private struct Value
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

    /// <summary>Decodes one frame and reports each item to <paramref name="sink"/>.</summary>
    public PickleError Decode<TSink>(ReadOnlySpan<byte> payload, TSink sink) where TSink : IPickleItemSink
    {
        Reset();
        _frameLength = payload.Length;
        var error = Run(payload, out var result);
        if (error == PickleError.None)
        {
            if (result.Kind != Kind.List && result.Kind != Kind.Tuple)
            {
                ErrorDetail = "the pickle is not a list of datapoints";
                error = PickleError.NotAList;
            }
            else
            {
                Emit(payload, result, sink);
            }
        }
        Shrink();
        return error;
    }

    private void Reset()
    {
        _sp = 0;
        _mp = 0;
        _tupleCount = 0;
        _listCount = 0;
        _arenaLength = 0;
        ErrorDetail = "";
    }

    // Buffers grown by one huge frame are let go so an idle connection does not keep them.
    private void Shrink()
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

    private static string OpName(byte op) => op is >= 0x20 and < 0x7f ? $"0x{op:x2} '{(char)op}'" : $"0x{op:x2}";

    private PickleError Run(ReadOnlySpan<byte> p, out Value result)
    {
        result = default;
        var pos = 0;
        while (pos < p.Length)
        {
            var at = pos;
            var op = p[pos++];
            var e = PickleError.None;
            switch (op)
            {
                case 0x80: // PROTO
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
                case 0x95: // FRAME (protocol 4): an 8-byte length that only hints at buffering
                    if (p.Length - pos < 8)
                    {
                        return Fail(PickleError.Truncated, "truncated FRAME");
                    }
                    pos += 8;
                    break;
                case (byte)'(': // MARK
                    if (_mp == _marks.Length)
                    {
                        Array.Resize(ref _marks, _marks.Length * 2);
                    }
                    _marks[_mp++] = _sp;
                    break;
                case (byte)'.': // STOP
                    if (_sp == 0)
                    {
                        return Fail(PickleError.StackUnderflow, "STOP with an empty stack");
                    }
                    result = _stack[_sp - 1];
                    return PickleError.None;
                case (byte)'N':
                    e = Push(new Value { Kind = Kind.None });
                    break;
                case 0x88:
                case 0x89:
                    e = Push(new Value { Kind = Kind.Bool, Bits = op == 0x88 ? 1 : 0 });
                    break;
                case (byte)'I': // INT, text; "01"/"00" are True/False
                case (byte)'L': // LONG, text with an optional 'L'
                {
                    if (!ReadLine(p, ref pos, out var line))
                    {
                        return Fail(PickleError.Truncated, "truncated INT/LONG");
                    }
                    if (op == (byte)'L' && line.Length > 0 && line[^1] == (byte)'L')
                    {
                        line = line[..^1];
                    }
                    Value v;
                    if (op == (byte)'I' && line.SequenceEqual("01"u8))
                    {
                        v = new Value { Kind = Kind.Bool, Bits = 1 };
                    }
                    else if (op == (byte)'I' && line.SequenceEqual("00"u8))
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
                    e = Push(v);
                    break;
                }
                case (byte)'J':
                    if (p.Length - pos < 4)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = BinaryPrimitives.ReadInt32LittleEndian(p[pos..]) });
                    pos += 4;
                    break;
                case (byte)'K':
                    if (p.Length - pos < 1)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT1");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = p[pos++] });
                    break;
                case (byte)'M':
                    if (p.Length - pos < 2)
                    {
                        return Fail(PickleError.Truncated, "truncated BININT2");
                    }
                    e = Push(new Value { Kind = Kind.Int, Bits = BinaryPrimitives.ReadUInt16LittleEndian(p[pos..]) });
                    pos += 2;
                    break;
                case 0x8a: // LONG1
                case 0x8b: // LONG4
                {
                    int n;
                    if (op == 0x8a)
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
                    e = Push(LongValue(p.Slice(pos, n)));
                    pos += n;
                    break;
                }
                case (byte)'F': // FLOAT, text
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
                case (byte)'G': // BINFLOAT, big-endian
                    if (p.Length - pos < 8)
                    {
                        return Fail(PickleError.Truncated, "truncated BINFLOAT");
                    }
                    e = Push(FloatValue(BinaryPrimitives.ReadDoubleBigEndian(p[pos..])));
                    pos += 8;
                    break;
                case (byte)'S': // STRING, a quoted Python 2 repr
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
                case (byte)'V': // UNICODE, raw-unicode-escape text
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
                case (byte)'T': // BINSTRING
                case (byte)'X': // BINUNICODE
                case (byte)'B': // BINBYTES
                case (byte)'U': // SHORT_BINSTRING
                case 0x8c: // SHORT_BINUNICODE
                case (byte)'C': // SHORT_BINBYTES
                case 0x8d: // BINUNICODE8
                case 0x8e: // BINBYTES8
                {
                    var lengthSize = op switch
                    {
                        (byte)'U' or 0x8c or (byte)'C' => 1,
                        0x8d or 0x8e => 8,
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
                    e = Push(new Value { Kind = Kind.Str, A = pos, B = (int)n });
                    pos += (int)n;
                    break;
                }
                case (byte)')':
                    e = Push(new Value { Kind = Kind.Tuple, A = _tupleCount, B = 0 });
                    break;
                case 0x85:
                case 0x86:
                case 0x87:
                    e = MakeTuple(op - 0x84);
                    break;
                case (byte)'t': // TUPLE from mark
                {
                    if (!PopMark(out var mark))
                    {
                        return Fail(PickleError.StackUnderflow, "TUPLE without a MARK");
                    }
                    e = MakeTuple(_sp - mark);
                    break;
                }
                case (byte)']':
                    e = Push(NewList());
                    break;
                case (byte)'l': // LIST from mark
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
                    e = Push(list);
                    break;
                }
                case (byte)'a': // APPEND
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
                case (byte)'e': // APPENDS
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
                    break;
                }
                case (byte)'p': // PUT, text id
                case (byte)'g': // GET, text id
                {
                    if (!ReadLine(p, ref pos, out var line) || !Utf8Number.TryParseInt64(line, out var id) || id < 0 || id >= MaxEntries)
                    {
                        return Fail(PickleError.BadArgument, $"bad memo id at offset {at}");
                    }
                    e = op == (byte)'p' ? Put((int)id) : Get((int)id);
                    break;
                }
                case (byte)'q': // BINPUT
                case (byte)'h': // BINGET
                    if (p.Length - pos < 1)
                    {
                        return Fail(PickleError.Truncated, "truncated memo id");
                    }
                    e = op == (byte)'q' ? Put(p[pos]) : Get(p[pos]);
                    pos++;
                    break;
                case (byte)'r': // LONG_BINPUT
                case (byte)'j': // LONG_BINGET
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
                    e = op == (byte)'r' ? Put((int)id) : Get((int)id);
                    break;
                }
                case 0x94: // MEMOIZE
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

    private void Emit<TSink>(ReadOnlySpan<byte> payload, Value top, TSink sink) where TSink : IPickleItemSink
    {
        var count = Length(top);
        for (var i = 0; i < count; i++)
        {
            var item = Item(top, i);
            if (!IsPair(item))
            {
                sink.OnReject(RejectReason.MalformedItem, default);
                continue;
            }
            var nameValue = Item(item, 0);
            var datapoint = Item(item, 1);
            if (nameValue.Kind is not (Kind.Str or Kind.StrArena))
            {
                sink.OnReject(RejectReason.MalformedItem, default);
                continue;
            }
            var name = nameValue.Kind == Kind.Str ? payload.Slice(nameValue.A, nameValue.B) : _arena.AsSpan(nameValue.A, nameValue.B);
            if (!IsPair(datapoint))
            {
                sink.OnReject(RejectReason.MalformedItem, name);
                continue;
            }
            var nameError = MetricName.Validate(name);
            if (nameError != RejectReason.None)
            {
                sink.OnReject(nameError, name);
                continue;
            }
            if (!TryNumber(payload, Item(datapoint, 0), out var ts) || !double.IsFinite(ts) || ts < 0)
            {
                sink.OnReject(RejectReason.BadTimestamp, name);
                continue;
            }
            if (!TryNumber(payload, Item(datapoint, 1), out var v))
            {
                sink.OnReject(RejectReason.BadValue, name);
                continue;
            }
            if (!double.IsFinite(v))
            {
                sink.OnReject(RejectReason.NonFiniteValue, name);
                continue;
            }
            sink.OnPoint(name, ts, v);
        }
    }

    private bool IsPair(Value v) => v.Kind is Kind.Tuple or Kind.List && Length(v) == 2;

    private int Length(Value v) => v.Kind == Kind.Tuple ? v.B : _lists[v.A].Count;

    private Value Item(Value v, int i) => v.Kind == Kind.Tuple ? _tupleItems[v.A + i] : _lists[v.A][i];

    // carbon applies float() to both fields, which also accepts numeric strings.
    private bool TryNumber(ReadOnlySpan<byte> payload, Value v, out double d)
    {
        switch (v.Kind)
        {
            case Kind.Int:
            case Kind.Bool:
                d = v.Bits;
                return true;
            case Kind.Float:
                d = BitConverter.Int64BitsToDouble(v.Bits);
                return true;
            case Kind.Str:
                return Utf8Number.TryParseDouble(payload.Slice(v.A, v.B).Trim(" \t\r\n"u8), out d);
            case Kind.StrArena:
                return Utf8Number.TryParseDouble(_arena.AsSpan(v.A, v.B).Trim(" \t\r\n"u8), out d);
            default:
                d = 0;
                return false;
        }
    }

    /// <summary>A short description of an error, for logs.</summary>
    public static string Describe(PickleError error) => error switch
    {
        PickleError.UnsupportedOpcode => "unsupported opcode",
        PickleError.UnsupportedProtocol => "unsupported pickle protocol",
        PickleError.Truncated => "truncated pickle",
        PickleError.StackUnderflow => "malformed pickle",
        PickleError.NotAList => "not a list of datapoints",
        PickleError.BadArgument => "bad opcode argument",
        PickleError.TooLarge => "pickle too large",
        _ => "ok",
    };
}
