namespace Insights.IntegrationTests.Infrastructure;

/// <summary>Tests that start hosts of their own: a test authority and a database of their own, for each test.</summary>
public abstract class OwnDatabaseTests : IAsyncLifetime
{
    protected TestAuthority Authority { get; private set; } = null!;

    protected TestDatabase Database { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Database = await TestDatabase.CreateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        await Authority.DisposeAsync();
    }
}
