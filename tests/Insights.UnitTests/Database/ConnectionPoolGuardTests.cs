using System.Net.Sockets;
using Insights.Database;
using Npgsql;

namespace Insights.UnitTests.Database;

public sealed class ConnectionPoolGuardTests
{
    private static PostgresException Postgres(string sqlState, string severity) => new("refused", severity, severity, sqlState);

    [Theory]
    [InlineData("28P01")] // password authentication failed: a password rotated under the service
    [InlineData("28000")] // no such role, or no pg_hba.conf rule
    [InlineData("3D000")] // the database does not exist
    [InlineData("55000")] // the database does not allow connections
    [InlineData("53300")] // too many connections
    [InlineData("57P03")] // the server is starting up
    [InlineData("57P01")] // the backend was terminated
    public void A_session_the_server_refuses_or_ends_is_unavailable(string sqlState) =>
        Assert.True(ConnectionPoolGuard.IsUnavailable(Postgres(sqlState, "FATAL")));

    [Theory]
    [InlineData("55000")] // a statement's object not in prerequisite state
    [InlineData("23505")]
    [InlineData("22P02")]
    [InlineData("42P01")]
    public void A_statement_error_is_not_unavailability(string sqlState) =>
        Assert.False(ConnectionPoolGuard.IsUnavailable(Postgres(sqlState, "ERROR")));

    [Fact]
    public void A_network_failure_under_a_wrapper_is_unavailable()
    {
        var refused = new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused));
        Assert.True(ConnectionPoolGuard.IsUnavailable(refused));
        Assert.True(ConnectionPoolGuard.IsUnavailable(new InvalidOperationException("wrapped", refused)));
        Assert.True(ConnectionPoolGuard.IsUnavailable(new NpgsqlException("outer", Postgres("28P01", "FATAL"))));
    }
}
