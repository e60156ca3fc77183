using Horizon.Core.Metrics;
using Kind = Horizon.Core.Protocols.PickleMachine.Kind;
using Value = Horizon.Core.Protocols.PickleMachine.Value;

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
/// the frame size; nothing is allocated per item once the internal buffers have grown. The
/// opcodes run in <see cref="PickleMachine"/>; this class maps its result to carbon's datapoints.</summary>
public sealed class CarbonPickleDecoder
{
    private readonly PickleMachine _machine = new();
    private string? _notAList;

    /// <summary>After an error: the opcode and offset where decoding stopped, for the log.</summary>
    public string ErrorDetail => _notAList ?? _machine.ErrorDetail;

    /// <summary>Decodes one frame and reports each item to <paramref name="sink"/>.</summary>
    public PickleError Decode<TSink>(ReadOnlySpan<byte> payload, TSink sink) where TSink : IPickleItemSink
    {
        _notAList = null;
        var error = _machine.Run(payload, out var result);
        if (error == PickleError.None)
        {
            if (result.Kind != Kind.List && result.Kind != Kind.Tuple)
            {
                _notAList = "the pickle is not a list of datapoints";
                error = PickleError.NotAList;
            }
            else
            {
                Emit(payload, result, sink);
            }
        }
        _machine.Release();
        return error;
    }

    private void Emit<TSink>(ReadOnlySpan<byte> payload, Value top, TSink sink) where TSink : IPickleItemSink
    {
        var count = _machine.Length(top);
        for (var i = 0; i < count; i++)
        {
            var item = _machine.Item(top, i);
            if (!IsPair(item))
            {
                sink.OnReject(RejectReason.MalformedItem, default);
                continue;
            }
            var nameValue = _machine.Item(item, 0);
            var datapoint = _machine.Item(item, 1);
            if (nameValue.Kind is not (Kind.Str or Kind.StrArena))
            {
                sink.OnReject(RejectReason.MalformedItem, default);
                continue;
            }
            var name = _machine.Text(payload, nameValue);
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
            if (!TryNumber(payload, _machine.Item(datapoint, 0), out var ts) || !double.IsFinite(ts) || ts < 0)
            {
                sink.OnReject(RejectReason.BadTimestamp, name);
                continue;
            }
            if (!TryNumber(payload, _machine.Item(datapoint, 1), out var v))
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

    private bool IsPair(Value v) => v.Kind is Kind.Tuple or Kind.List && _machine.Length(v) == 2;

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
            case Kind.StrArena:
                return Utf8Number.TryParseDouble(_machine.Text(payload, v).Trim(" \t\r\n"u8), out d);
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
