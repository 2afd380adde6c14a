using Insights.SmartLink;

namespace Insights.UnitTests.SmartLink;

public sealed class MessageIdsTests
{
    [Fact]
    public void Ids_are_version_7_and_increase_in_byte_order()
    {
        var ids = Enumerable.Range(0, 20_000).Select(_ => MessageIds.Next()).ToList();
        Assert.All(ids, id => Assert.Equal(7, id.Version));
        Assert.All(ids, id => Assert.Equal(0b10, id.Variant >> 2));
        var bytes = ids.Select(id => Convert.ToHexString(id.ToByteArray(bigEndian: true))).ToList();
        Assert.Equal(bytes.Order(StringComparer.Ordinal), bytes);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void The_timestamp_is_the_current_millisecond()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var bytes = MessageIds.Next().ToByteArray(bigEndian: true);
        var milliseconds = bytes.Take(6).Aggregate(0L, (value, b) => (value << 8) | b);
        Assert.InRange(milliseconds, before, before + 5000);
    }
}
