using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Insights.SmartLink;

internal static class SmartLinkSetup
{
    public static void AddSmartLink(this WebApplicationBuilder builder, RoleOptions roles)
    {
        var services = builder.Services;
        services.AddOptions<SmartLinkOptions>().BindConfiguration(SmartLinkOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<QueueWriter>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<QueueAckMarks>();
        services.AddSingleton<TenantQueues>();
        services.AddSingleton<Tenancy.ITenantLifecycle, QueueTenantLifecycle>();
        services.AddSingleton<QueueSignals>();
        services.AddSingleton(new Messaging.OutboxMessageType(typeof(OnlineInsightRequested)));
        if (roles.Worker)
        {
            services.AddSingleton<QueuePurgeService>();
            services.AddHostedService(provider => provider.GetRequiredService<QueuePurgeService>());
        }

        services.AddSingleton<TenantRequestRate>();
        services.AddOptions<RateLimiterOptions>().Configure<TenantRequestRate>((limiter, rate) => limiter.GlobalLimiter = rate);
        services.AddRateLimiter(limiter =>
        {
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"This tenant exceeded its request rate; retry after {seconds} s.",
                    },
                });
            };
        });
    }
}
