namespace Insights.Tenancy;

/// <summary>What tenant-scoped work needs of its tenant: its schema, and the store that holds it.</summary>
public sealed record TenantInfo(string Id, string Name, string Status, SchemaName Schema, string Store = Database.TenantStoreSettings.Main);
