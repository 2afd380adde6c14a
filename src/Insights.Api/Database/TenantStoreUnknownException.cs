namespace Insights.Database;

/// <summary>A tenant lives on a store this node's settings do not name (<c>Stores:&lt;name&gt;</c>).</summary>
public sealed class TenantStoreUnknownException(string store)
    : InvalidOperationException($"The tenant store '{store}' is not among this node's stores (setting '{TenantStoreSettings.Section}:{store}').")
{
    public string Store { get; } = store;
}
