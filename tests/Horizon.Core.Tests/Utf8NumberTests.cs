using System.Globalization;
using System.Text;
using Horizon.Core.Protocols;

namespace Horizon.Core.Tests;

public sealed class Utf8NumberTests
{
    [Fact]
    public void FastPathAgreesBitForBitWithTheRuntimeParserOnRandomDecimals()
    {
        var random = new Random(20261123);
        for (var i = 0; i < 200_000; i++)
        {
            var text = RandomDecimal(random);
            var expected = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.True(Utf8Number.TryParseDouble(Encoding.ASCII.GetBytes(text), out var actual), text);
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual), $"{text}: {expected:R} vs {actual:R}");
        }
    }

    private static string RandomDecimal(Random random)
    {
        var sb = new StringBuilder();
        if (random.Next(4) == 0)
        {
            sb.Append(random.Next(2) == 0 ? '-' : '+');
        }
        var digits = random.Next(1, 22);
        var point = random.Next(-1, digits + 1);
        for (var d = 0; d < digits; d++)
        {
            if (d == point)
            {
                sb.Append('.');
            }
            sb.Append((char)('0' + random.Next(10)));
        }
        if (random.Next(3) == 0)
        {
            sb.Append('e').Append(random.Next(-30, 31));
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("+INF", double.PositiveInfinity)]
    [InlineData("nan", double.NaN)]
    public void NonFiniteWordsAreRecognised(string text, double expected)
    {
        Assert.True(Utf8Number.TryParseDouble(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("", false, 0)]
    [InlineData("-", false, 0)]
    [InlineData("12", true, 12)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0)]
    [InlineData("1.0", false, 0)]
    public void IntegersParseOnlyWhenWhole(string text, bool ok, long expected)
    {
        Assert.Equal(ok, Utf8Number.TryParseInt64(Encoding.ASCII.GetBytes(text), out var value));
        if (ok)
        {
            Assert.Equal(expected, value);
        }
    }
}
