using Insights.Http;

namespace Insights.UnitTests.Hosting;

public sealed class CursorTests
{
    [Fact]
    public void A_cursor_round_trips_its_key()
    {
        var cursor = Cursor.Encode("tenant-42");
        Assert.True(Cursor.TryDecode(cursor, out var key));
        Assert.Equal("tenant-42", key);
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("a b")]
    public void Garbage_is_not_a_cursor(string cursor) => Assert.False(Cursor.TryDecode(cursor, out _));

    [Theory]
    [InlineData(0)]
    [InlineData(501)]
    [InlineData(-1)]
    public void Limits_outside_1_to_500_are_errors(int limit) =>
        Assert.NotNull(Cursor.Check(limit, null, out _, out _));

    [Fact]
    public void No_limit_means_50()
    {
        Assert.Null(Cursor.Check(null, null, out var size, out var after));
        Assert.Equal(50, size);
        Assert.Null(after);
    }
}
