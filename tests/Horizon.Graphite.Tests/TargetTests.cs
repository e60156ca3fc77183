using Horizon.Graphite;

namespace Horizon.Graphite.Tests;

public class TargetTests
{
    [Fact]
    public void NestedCallsNamedArgumentsAndBracesParse()
    {
        var target = Target.Parse("alias(summarize(sumSeries(app.{web1,web2}.requests, app.db*.requests), '1h', func=\"max\", alignToFrom=true), 'total')");
        var alias = Assert.IsType<FunctionCall>(target);
        Assert.Equal("alias", alias.Name);
        Assert.Equal("total", Assert.IsType<StringArgument>(alias.Arguments[1]).Value);
        var summarize = Assert.IsType<FunctionCall>(alias.Arguments[0]);
        Assert.Equal("max", Assert.IsType<StringArgument>(summarize.Named["func"]).Value);
        Assert.True(Assert.IsType<BoolArgument>(summarize.Named["alignToFrom"]).Value);
        var sum = Assert.IsType<FunctionCall>(summarize.Arguments[0]);
        Assert.Equal(["app.{web1,web2}.requests", "app.db*.requests"], sum.Arguments.Select(a => Assert.IsType<PathTarget>(a).Pattern));
        Assert.Equal("sumSeries(app.{web1,web2}.requests, app.db*.requests)", sum.Text);
    }

    [Fact]
    public void NumbersNoneAndBooleansAreValuesAndDottedNamesArePaths()
    {
        var call = Assert.IsType<FunctionCall>(Target.Parse("f(1.5, -2, 1e3, None, false, 1.2.3, 5xx.rate)"));
        Assert.Equal(1.5, Assert.IsType<NumberArgument>(call.Arguments[0]).Value);
        Assert.Equal(-2, Assert.IsType<NumberArgument>(call.Arguments[1]).Value);
        Assert.Equal(1000, Assert.IsType<NumberArgument>(call.Arguments[2]).Value);
        Assert.IsType<NoneArgument>(call.Arguments[3]);
        Assert.False(Assert.IsType<BoolArgument>(call.Arguments[4]).Value);
        Assert.Equal("1.2.3", Assert.IsType<PathTarget>(call.Arguments[5]).Pattern);
        Assert.Equal("5xx.rate", Assert.IsType<PathTarget>(call.Arguments[6]).Pattern);
    }

    [Theory]
    [InlineData("sumSeries(a.b", "unclosed call to sumSeries")]
    [InlineData("scale(a.b, 'x)", "unclosed string")]
    [InlineData("a.b)", "unexpected text at character 4")]
    [InlineData("f(x=1, a.b)", "a positional argument after a named one")]
    [InlineData("a-b.c(x)", "is not a function name")]
    [InlineData("", "a series or value expected")]
    public void SyntaxErrorsSayWhatAndWhere(string text, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => Target.Parse(text)).Message, StringComparison.Ordinal);
}
