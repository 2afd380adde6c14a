namespace Insights.IntegrationTests.Infrastructure;

/// <summary>Tests that start hosts of their own: a test authority and a database of their own, for each test.</summary>
public abstract class OwnDatabaseTests : IAsyncLifetime
{
    private TestDatabase? store2;

    protected TestAuthority Authority { get; private set; } = null!;

    protected TestDatabase Database { get; private set; } = null!;

    /// <summary>
    /// A database of this test's on the tests' second PostgreSQL server, for a tenant store (<c>Stores:store2</c>),
    /// created on first use.
    /// </summary>
    protected async Task<TestDatabase> Store2Async() => store2 ??= await TestDatabase.CreateAsync(TestServices.StorePostgres());

    public virtual async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Database = await TestDatabase.CreateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (store2 is not null)
        {
            await store2.DisposeAsync();
        }

        await Database.DisposeAsync();
        await Authority.DisposeAsync();
    }
}
