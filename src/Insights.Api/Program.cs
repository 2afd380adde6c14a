using Insights.Hosting;

if (await InsightsCli.TryRunAsync(args))
{
    return;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddInsights();

var app = builder.Build();
app.MapInsights();
app.Run();

/// <summary>The host; public so tests can run it with <c>WebApplicationFactory</c>.</summary>
public partial class Program;
