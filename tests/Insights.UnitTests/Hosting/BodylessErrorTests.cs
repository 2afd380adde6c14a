using System.Text;
using Insights.Http;

namespace Insights.UnitTests.Hosting;

public sealed class BodylessErrorTests
{
    private const string Kestrel414 =
        "HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nDate: Mon, 30 Nov 2026 22:10:53 GMT\r\nServer: Kestrel\r\nContent-Length: 0\r\n\r\n";

    [Fact]
    public void Kestrels_bodyless_error_matches_its_status()
    {
        Assert.True(BodylessError.Matches(Bytes(Kestrel414), 414));
        Assert.False(BodylessError.Matches(Bytes(Kestrel414), 431));
    }

    [Theory]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\n")]
    [InlineData("\0\0\0\u0004\0\0\0\0\0")]
    public void Anything_else_is_left_alone(string response)
    {
        Assert.False(BodylessError.Matches(Bytes(response), 414));
    }

    [Fact]
    public void The_rewrite_keeps_the_headers_and_declares_the_problem()
    {
        var rewritten = Encoding.ASCII.GetString(BodylessError.Rewrite(Bytes(Kestrel414), "application/problem+json", 123));
        Assert.Equal(
            "HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nDate: Mon, 30 Nov 2026 22:10:53 GMT\r\nServer: Kestrel\r\n"
            + "Content-Type: application/problem+json\r\nContent-Length: 123\r\n\r\n",
            rewritten);
    }

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);
}
