namespace Insights.Messaging;

/// <summary>
/// Commands and events that must not be lost: written in the transaction of the change they announce, so they exist
/// exactly when the change does, and handed to the bus by <see cref="OutboxRelay"/> once the broker can take them.
/// Each row names the node that wrote it: an in-memory bus reaches only its own process, so there a node relays what it
/// wrote, and what a node left behind when it died after <see cref="OrphanedAfter"/>.
/// </summary>
public sealed class Outbox
{
    public const string Channel = "insights_outbox";

    public static readonly TimeSpan OrphanedAfter = TimeSpan.FromSeconds(30);

    /// <summary>This node, for the rows it writes.</summary>
    public Guid NodeId { get; } = Guid.CreateVersion7();

    private const string InsertSql =
        """
        INSERT INTO catalog.outbox (message_id, message_type, body, dedupe_key, origin) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
        """;

    /// <summary>
    /// Adds <paramref name="message"/> within <paramref name="transaction"/>; the relay hears of it at the commit.
    /// With a <paramref name="dedupeKey"/>, nothing is added while a message of that key still waits (false then).
    /// </summary>
    public async Task<bool> AddAsync<T>(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, T message, CancellationToken cancellationToken, Guid? messageId = null, string? dedupeKey = null)
        where T : class
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Insert(message, messageId, dedupeKey));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_notify($1, '')") { Parameters = { new() { Value = Channel } } });
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands[0].RecordsAffected > 0;
    }

    /// <summary>Adds <paramref name="message"/> on its own (a statement that commits by itself).</summary>
    public async Task<bool> AddAsync<T>(
        CatalogDatabase dataSource, T message, CancellationToken cancellationToken, Guid? messageId = null, string? dedupeKey = null)
        where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // A batch runs as one implicit transaction: the row and its notification commit together.
        return await AddAsync(connection, null, message, cancellationToken, messageId, dedupeKey);
    }

    private NpgsqlBatchCommand Insert<T>(T message, Guid? messageId, string? dedupeKey)
        where T : class => new(InsertSql)
        {
            Parameters =
            {
                new() { Value = messageId ?? Guid.CreateVersion7() },
                new() { Value = typeof(T).Name },
                new() { Value = JsonSerializer.Serialize(message, JsonSerializerOptions.Web) },
                new() { Value = (object?)dedupeKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = NodeId },
            },
        };
}
