using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Insights.Benchmarks;

/// <summary>
/// The built host (<c>Insights.Api.dll</c>, copied beside the benchmark) running as a child process on Kestrel over
/// loopback, so its working set is the host's alone. Its output is forwarded to standard error.
/// </summary>
internal sealed class HostProcess : IDisposable
{
    private readonly Process process;

    private HostProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => process.Id;

    public static async Task<HostProcess> StartAsync(IReadOnlyDictionary<string, string> environment, TimeSpan readyWithin)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var directory = AppContext.BaseDirectory;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet")
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(directory, "Insights.Api.dll"));
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = baseAddress.ToString().TrimEnd('/');

        var process = Process.Start(start) ?? throw new InvalidOperationException("The host process did not start.");
        process.OutputDataReceived += (_, e) => Forward(e.Data);
        process.ErrorDataReceived += (_, e) => Forward(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var host = new HostProcess(process, baseAddress);
        try
        {
            await host.WaitReadyAsync(readyWithin);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The host's working set now, in bytes.</summary>
    public long WorkingSet()
    {
        process.Refresh();
        return process.WorkingSet64;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process.Dispose();
    }

    private async Task WaitReadyAsync(TimeSpan within)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {process.ExitCode} before it was ready.");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The host was not ready at {BaseAddress}health/ready within {within.TotalSeconds:F0} s.");
            }

            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Forward(string? line)
    {
        if (line is not null)
        {
            Console.Error.WriteLine("host| " + line);
        }
    }
}
