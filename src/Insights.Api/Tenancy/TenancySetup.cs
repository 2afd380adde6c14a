using MassTransit;

namespace Insights.Tenancy;

internal static class TenancySetup
{
    public static void AddTenancy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddScoped<TenantContext>();
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<TenantMigrator>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<TenantUsageReader>();
        services.AddSingleton(provider => new TenantMigrationRunner(
            provider.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            provider.GetRequiredService<TenantMigrator>(),
            provider.GetRequiredService<TenantDirectory>(),
            provider.GetRequiredService<ILogger<TenantMigrationRunner>>()));
    }

    /// <summary>Consumers of the tenancy capability (worker role).</summary>
    public static void AddConsumers(IBusRegistrationConfigurator bus)
    {
        _ = bus;
    }
}
