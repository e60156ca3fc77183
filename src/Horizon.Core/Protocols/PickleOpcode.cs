namespace Horizon.Core.Protocols;

/// <summary>The pickle opcodes Horizon's decoder understands, named as in CPython's
/// <c>pickletools</c> (protocols 0 to 5). Every other opcode (GLOBAL, REDUCE, BUILD, INST, OBJ, ...)
/// is refused: in a real unpickler those execute code.</summary>
internal enum PickleOpcode : byte
{
    /// <summary>PROTO: the protocol version (one byte).</summary>
    Proto = 0x80,

    /// <summary>FRAME (protocol 4): an 8-byte length that only hints at buffering.</summary>
    Frame = 0x95,

    /// <summary>MARK: remembers the stack depth for TUPLE, LIST and APPENDS.</summary>
    Mark = (byte)'(',

    /// <summary>STOP: the value on top of the stack is the result.</summary>
    Stop = (byte)'.',

    /// <summary>NONE.</summary>
    None = (byte)'N',

    /// <summary>NEWTRUE.</summary>
    NewTrue = 0x88,

    /// <summary>NEWFALSE.</summary>
    NewFalse = 0x89,

    /// <summary>INT: a decimal integer as text ("01" and "00" are True and False).</summary>
    Int = (byte)'I',

    /// <summary>LONG: a decimal integer as text, perhaps ending in 'L'.</summary>
    Long = (byte)'L',

    /// <summary>BININT: a signed 4-byte integer.</summary>
    BinInt = (byte)'J',

    /// <summary>BININT1: an unsigned byte.</summary>
    BinInt1 = (byte)'K',

    /// <summary>BININT2: an unsigned 2-byte integer.</summary>
    BinInt2 = (byte)'M',

    /// <summary>LONG1: a two's complement integer of up to 255 bytes.</summary>
    Long1 = 0x8a,

    /// <summary>LONG4: a two's complement integer with a 4-byte length.</summary>
    Long4 = 0x8b,

    /// <summary>FLOAT: a float as text.</summary>
    Float = (byte)'F',

    /// <summary>BINFLOAT: a big-endian IEEE double.</summary>
    BinFloat = (byte)'G',

    /// <summary>STRING: a quoted Python 2 repr.</summary>
    String = (byte)'S',

    /// <summary>UNICODE: raw-unicode-escape text.</summary>
    Unicode = (byte)'V',

    /// <summary>BINSTRING: bytes with a 4-byte length.</summary>
    BinString = (byte)'T',

    /// <summary>BINUNICODE: UTF-8 with a 4-byte length.</summary>
    BinUnicode = (byte)'X',

    /// <summary>BINBYTES: bytes with a 4-byte length.</summary>
    BinBytes = (byte)'B',

    /// <summary>SHORT_BINSTRING: bytes with a 1-byte length.</summary>
    ShortBinString = (byte)'U',

    /// <summary>SHORT_BINUNICODE: UTF-8 with a 1-byte length.</summary>
    ShortBinUnicode = 0x8c,

    /// <summary>SHORT_BINBYTES: bytes with a 1-byte length.</summary>
    ShortBinBytes = (byte)'C',

    /// <summary>BINUNICODE8: UTF-8 with an 8-byte length.</summary>
    BinUnicode8 = 0x8d,

    /// <summary>BINBYTES8: bytes with an 8-byte length.</summary>
    BinBytes8 = 0x8e,

    /// <summary>EMPTY_TUPLE.</summary>
    EmptyTuple = (byte)')',

    /// <summary>TUPLE1: a tuple of the top item.</summary>
    Tuple1 = 0x85,

    /// <summary>TUPLE2: a tuple of the top two items.</summary>
    Tuple2 = 0x86,

    /// <summary>TUPLE3: a tuple of the top three items.</summary>
    Tuple3 = 0x87,

    /// <summary>TUPLE: a tuple of the items since the last MARK.</summary>
    Tuple = (byte)'t',

    /// <summary>EMPTY_LIST.</summary>
    EmptyList = (byte)']',

    /// <summary>LIST: a list of the items since the last MARK.</summary>
    List = (byte)'l',

    /// <summary>APPEND: adds the top item to the list below it.</summary>
    Append = (byte)'a',

    /// <summary>APPENDS: adds the items since the last MARK to the list below the mark.</summary>
    Appends = (byte)'e',

    /// <summary>PUT: stores the top item in the memo under a decimal id.</summary>
    Put = (byte)'p',

    /// <summary>GET: pushes the memo item of a decimal id.</summary>
    Get = (byte)'g',

    /// <summary>BINPUT: PUT with a 1-byte id.</summary>
    BinPut = (byte)'q',

    /// <summary>BINGET: GET with a 1-byte id.</summary>
    BinGet = (byte)'h',

    /// <summary>LONG_BINPUT: PUT with a 4-byte id.</summary>
    LongBinPut = (byte)'r',

    /// <summary>LONG_BINGET: GET with a 4-byte id.</summary>
    LongBinGet = (byte)'j',

    /// <summary>MEMOIZE (protocol 4): PUT under the next id.</summary>
    Memoize = 0x94,
}
