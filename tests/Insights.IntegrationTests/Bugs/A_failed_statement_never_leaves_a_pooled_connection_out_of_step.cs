using Insights.Database;
using Insights.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Insights.IntegrationTests.Bugs;

/// <summary>
/// After <c>GET /tenants?cursor=…</c> requests whose cursor held a NUL answered 500, the next list requests failed with
/// Npgsql's "Received unexpected backend message DataRow": the statement had failed at Bind on the very run Npgsql
/// auto-prepared it, and the connection went back to the pool believing it prepared without its row description.
/// Whatever fails, and however, every pooled connection must then answer the same statement in step.
/// </summary>
public sealed class A_failed_statement_never_leaves_a_pooled_connection_out_of_step : OwnDatabaseTests
{
    private const int PoolSize = 3;

    // The shape of the tenants list: a row-returning statement with text parameters.
    private const string Sql = "SELECT g::text FROM generate_series(1, 20) g WHERE ($1::text IS NULL OR lpad(g::text, 2, '0') > $1) ORDER BY g LIMIT $2";

    public static TheoryData<string> Failures => ["nul at bind", "error mid-result", "cancelled mid-result", "exception while reading"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Every_pooled_connection_answers_in_step_after(string failure)
    {
        // The service's pool (its defaults: auto-prepare, no reset on close) and its guard, with few connections.
        var given = Database.ConnectionString + $";Maximum Pool Size={PoolSize}";
        var builder = new NpgsqlDataSourceBuilder(given);
        DatabaseSetup.ApplyDefaults(builder.ConnectionStringBuilder, given);
        await using var dataSource = builder.Build();
        await using var connections = new TenantDatabases(new CatalogDatabase(dataSource), given, laneCount: 1, lanePoolSize: 1);
        using var guard = new ConnectionPoolGuard(connections, NullLogger<ConnectionPoolGuard>.Instance);

        // Each physical connection runs the statement up to the run on which Npgsql prepares it, which fails.
        var held = new List<NpgsqlConnection>();
        for (var i = 0; i < PoolSize; i++)
        {
            held.Add(await dataSource.OpenConnectionAsync());
        }

        foreach (var connection in held)
        {
            for (var run = 1; run < new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).AutoPrepareMinUsages; run++)
            {
                Assert.Equal(5, await ListAsync(connection, "15", 10));
            }

            await Assert.ThrowsAnyAsync<Exception>(() => FailAsync(connection, failure));
        }

        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }

        // Then every connection the pool hands out, held at once so that each is a different one, answers in step.
        held.Clear();
        for (var i = 0; i < PoolSize; i++)
        {
            held.Add(await dataSource.OpenConnectionAsync());
        }

        foreach (var connection in held)
        {
            Assert.Equal(3, await ListAsync(connection, "17", 10));
            Assert.Equal(10, await ListAsync(connection, null, 10));
            await connection.DisposeAsync();
        }

        // And so do the commands that take a pooled connection each, as the service's requests do.
        for (var i = 0; i < 4 * PoolSize; i++)
        {
            await using var command = dataSource.CreateCommand(Sql);
            Bind(command, "18", 10);
            Assert.Equal(2, await CountAsync(command, CancellationToken.None));
        }
    }

    private static async Task FailAsync(NpgsqlConnection connection, string failure)
    {
        switch (failure)
        {
            case "nul at bind":
                await ListAsync(connection, "a\0b", 10);
                break;
            case "error mid-result":
                await using (var command = new NpgsqlCommand("SELECT 10 / (3 - g) FROM generate_series(1, 5) g", connection))
                {
                    await CountAsync(command, CancellationToken.None);
                }

                break;
            case "cancelled mid-result":
                using (var cancel = new CancellationTokenSource())
                {
                    // More rows than fit in the read buffer, so reading on after the cancel has to go to the server.
                    await using var command = new NpgsqlCommand("SELECT repeat('x', 1000) FROM generate_series(1, 100000)", connection);
                    await using var reader = await command.ExecuteReaderAsync(cancel.Token);
                    await reader.ReadAsync(cancel.Token);
                    await cancel.CancelAsync();
                    while (await reader.ReadAsync(cancel.Token))
                    {
                    }
                }

                break;
            default:
                await using (var command = new NpgsqlCommand(Sql, connection))
                {
                    Bind(command, null, 20);
                    await using var reader = await command.ExecuteReaderAsync();
                    await reader.ReadAsync();
                    throw new InvalidOperationException("The caller gave up in the middle of the rows.");
                }
        }
    }

    private static async Task<int> ListAsync(NpgsqlConnection connection, string? after, int limit)
    {
        await using var command = new NpgsqlCommand(Sql, connection);
        Bind(command, after, limit);
        return await CountAsync(command, CancellationToken.None);
    }

    private static void Bind(NpgsqlCommand command, string? after, int limit)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
    }

    private static async Task<int> CountAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows++;
        }

        return rows;
    }
}
