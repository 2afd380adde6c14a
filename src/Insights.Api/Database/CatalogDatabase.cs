namespace Insights.Database;

/// <summary>The catalog: the service's own tables in the schema <c>catalog</c> of the main database.</summary>
public sealed class CatalogDatabase(NpgsqlDataSource dataSource) : PostgresDatabase(dataSource), IAsyncDisposable
{
    /// <summary>The catalog of <paramref name="connectionString"/>, with the service's connection defaults.</summary>
    public static CatalogDatabase Create(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        DatabaseSetup.ApplyDefaults(builder.ConnectionStringBuilder, connectionString);
        builder.ConnectionStringBuilder.ApplicationName = DatabaseSetup.CatalogName(connectionString);
        builder.Name = "insights-catalog";
        DatabaseSetup.LoadSystemTypesOnly(builder);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return new CatalogDatabase(builder.Build());
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
