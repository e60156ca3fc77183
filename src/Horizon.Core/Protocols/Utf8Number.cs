using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Horizon.Core.Protocols;

/// <summary>Number parsing over UTF-8 text with the grammar carbon accepts (Python's float()):
/// optional sign, digits with an optional fraction, an optional exponent; "inf"/"nan" words are
/// recognised so that they can be reported as non-finite rather than as garbage.</summary>
public static class Utf8Number
{
    private static readonly double[] PowersOf10 =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>Parses a decimal number. Returns false for anything that is not a whole number
    /// token (trailing bytes, hex, empty). Non-finite words parse to NaN or infinity.</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value)
    {
        // Fast path (Clinger): at most 19 digits of mantissa and a power of ten within 10^22 give
        // a correctly rounded result with one multiplication or division when the mantissa is
        // below 2^53. Everything else goes to the runtime's full parser.
        var i = 0;
        var negative = false;
        if (s.Length > 0 && (s[0] == (byte)'-' || s[0] == (byte)'+'))
        {
            negative = s[0] == (byte)'-';
            i = 1;
        }
        ulong mantissa = 0;
        var intDigits = 0;
        var fracDigits = 0;
        var significant = 0;
        while (i < s.Length && IsDigit(s[i]))
        {
            Accumulate(ref mantissa, ref significant, s[i]);
            intDigits++;
            i++;
        }
        if (i < s.Length && s[i] == (byte)'.')
        {
            i++;
            while (i < s.Length && IsDigit(s[i]))
            {
                Accumulate(ref mantissa, ref significant, s[i]);
                fracDigits++;
                i++;
            }
        }
        if (intDigits + fracDigits == 0)
        {
            return TryParseWord(s, out value);
        }
        var exponent = 0;
        if (i < s.Length && (s[i] == (byte)'e' || s[i] == (byte)'E'))
        {
            i++;
            var expNegative = false;
            if (i < s.Length && (s[i] == (byte)'-' || s[i] == (byte)'+'))
            {
                expNegative = s[i] == (byte)'-';
                i++;
            }
            var expDigits = 0;
            while (i < s.Length && IsDigit(s[i]))
            {
                if (exponent < 100_000)
                {
                    exponent = exponent * 10 + (s[i] - '0');
                }
                expDigits++;
                i++;
            }
            if (expDigits == 0)
            {
                value = 0;
                return false;
            }
            if (expNegative)
            {
                exponent = -exponent;
            }
        }
        if (i != s.Length)
        {
            value = 0;
            return false;
        }
        if (significant <= 19 && mantissa <= (1UL << 53))
        {
            var scale = exponent - fracDigits;
            double result = mantissa;
            if (scale == 0 || mantissa == 0)
            {
                value = negative ? -result : result;
                return true;
            }
            if (scale > 0 && scale <= 22)
            {
                result *= PowersOf10[scale];
                value = negative ? -result : result;
                return true;
            }
            if (scale < 0 && scale >= -22)
            {
                result /= PowersOf10[-scale];
                value = negative ? -result : result;
                return true;
            }
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Parses a whole number made of ASCII digits with an optional sign into a long.</summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.IsEmpty)
        {
            return false;
        }
        var i = 0;
        var negative = false;
        if (s[0] == (byte)'-' || s[0] == (byte)'+')
        {
            negative = s[0] == (byte)'-';
            i = 1;
            if (s.Length == 1)
            {
                return false;
            }
        }
        if (s.Length - i > 18)
        {
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }
        long v = 0;
        for (; i < s.Length; i++)
        {
            var d = s[i] - '0';
            if ((uint)d > 9)
            {
                return false;
            }
            v = v * 10 + d;
        }
        value = negative ? -v : v;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref ulong mantissa, ref int significant, byte digit)
    {
        if (significant == 0 && digit == (byte)'0')
        {
            return; // leading zeros carry no precision
        }
        significant++;
        if (significant <= 19)
        {
            mantissa = mantissa * 10 + (ulong)(digit - '0');
        }
    }

    private static bool TryParseWord(ReadOnlySpan<byte> s, out double value)
    {
        var sign = 1.0;
        var body = s;
        if (body.Length > 0 && (body[0] == (byte)'-' || body[0] == (byte)'+'))
        {
            sign = body[0] == (byte)'-' ? -1.0 : 1.0;
            body = body[1..];
        }
        if (body.Length is 3 or 8 && (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8)))
        {
            value = sign * double.PositiveInfinity;
            return true;
        }
        if (body.Length == 3 && Ascii.EqualsIgnoreCase(body, "nan"u8))
        {
            value = double.NaN;
            return true;
        }
        value = 0;
        return false;
    }
}
