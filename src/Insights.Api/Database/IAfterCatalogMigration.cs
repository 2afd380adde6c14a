namespace Insights.Database;

/// <summary>Work an owner does at start once the catalog and the stores are migrated, before the host serves.</summary>
public interface IAfterCatalogMigration
{
    Task RunAsync(CancellationToken cancellationToken);
}
