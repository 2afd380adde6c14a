namespace Insights.Tenancy;

internal static class TenantSettings
{
    public const string Rule = "settings must be a JSON object of at most 16 KiB.";

    public static bool IsAcceptable(JsonElement? settings) =>
        settings is null
        || settings.Value.ValueKind == JsonValueKind.Null
        || (settings.Value.ValueKind == JsonValueKind.Object && settings.Value.GetRawText().Length <= TenantsApi.MaxSettingsBytes);
}
