using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// The built host (<c>Insights.Api.dll</c>, copied beside the tests with its runtime configuration) running as a child
/// process on Kestrel over loopback, configured only through environment variables, as an operator runs it. Unlike a
/// <see cref="InsightsFactory"/>, it can die the way a node dies: <see cref="Kill"/> sends SIGKILL, so nothing in the
/// host gets to roll back, record how a run ended or answer the requests in flight.
/// </summary>
public sealed class HostProcess : IDisposable
{
    /// <summary>A cap for a host that never gets ready, not a speed limit: a loaded 2-core machine may take a minute.</summary>
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(180);

    private const int KeptLines = 200;

    private readonly Process process;
    private readonly string name;
    private readonly ITestOutputHelper? output;
    private readonly Queue<string> recent = new();
    private volatile bool killed;

    private HostProcess(Process process, string name, Uri baseAddress, ITestOutputHelper? output)
    {
        this.process = process;
        this.name = name;
        this.output = output;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>
    /// How the host ended, for failure messages. A host that dies of a signal the test did not send (exit code 128 + the
    /// signal) was stopped by something else on the machine, and says so.
    /// </summary>
    public string ExitDescription
    {
        get
        {
            if (!process.HasExited)
            {
                return $"host {name} (pid {process.Id}) is running";
            }

            var code = process.ExitCode;
            var cause = killed ? "killed by the test"
                : code > 128 ? $"ended by signal {code - 128}, which this test did not send: another process stopped it"
                : "exited by itself";
            return $"host {name} (pid {process.Id}) exited with code {code}, {cause}";
        }
    }

    /// <summary>
    /// Starts the host with these settings (environment variables, <c>Section__Key</c>) and waits until
    /// <c>/health/ready</c> answers 200. Its output goes to <paramref name="output"/> with <paramref name="name"/> as a
    /// prefix, and its last lines are kept for failure messages. It also listens on <paramref name="extraPorts"/> (on
    /// loopback), for a port the host serves something else on.
    /// </summary>
    public static async Task<HostProcess> StartAsync(
        string name, IReadOnlyDictionary<string, string> environment, ITestOutputHelper? output = null, IReadOnlyList<int>? extraPorts = null)
    {
        // The port is free when chosen, but anything on the machine may take it before the host binds it: then the host
        // exits at once, and starts again on another port.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortAsync(name, environment, output, extraPorts ?? []);
            }
            catch (PortTakenException) when (attempt < 5)
            {
                output?.WriteLine($"{name}| its port was taken before it could listen; starting it on another");
            }
        }
    }

    private static async Task<HostProcess> StartOnFreePortAsync(
        string name, IReadOnlyDictionary<string, string> environment, ITestOutputHelper? output, IReadOnlyList<int> extraPorts)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var directory = AppContext.BaseDirectory;
        // The SDK copies a referenced executable's runtime configuration beside an executable that references it (a
        // test project is one); without it `dotnet Insights.Api.dll` cannot start, so say so rather than time out.
        foreach (var file in new[] { "Insights.Api.dll", "Insights.Api.runtimeconfig.json", "Insights.Api.deps.json" })
        {
            if (!File.Exists(Path.Combine(directory, file)))
            {
                throw new InvalidOperationException($"{file} is not in {directory}: build the solution before running these tests.");
            }
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet")
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(directory, "Insights.Api.dll"));

        // An operator's node: production unless a test says otherwise, whatever the shell running the tests has set.
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = string.Join(
            ';', extraPorts.Select(p => $"http://127.0.0.1:{p}").Prepend(baseAddress.ToString().TrimEnd('/')));

        var process = Process.Start(start) ?? throw new InvalidOperationException("The host process did not start.");
        var host = new HostProcess(process, name, baseAddress, output);
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.WaitReadyAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>A client of this host, with a bearer token when given.</summary>
    public HttpClient Client(string? token = null)
    {
        // Long enough for any request of the tests, short enough that a hung host fails the test instead of hanging it.
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>SIGKILL to the host and anything it started, and waits until it is gone: a node that dies, not one that stops.</summary>
    public void Kill()
    {
        killed = true;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException($"The host {name} (pid {process.Id}) did not exit after SIGKILL.");
        }

        Log($"killed (pid {process.Id})");
    }

    /// <summary>The host's last lines of output, for failure messages.</summary>
    public string RecentOutput()
    {
        lock (recent)
        {
            return $"Last lines of host {name}:{Environment.NewLine}{string.Join(Environment.NewLine, recent)}";
        }
    }

    public void Dispose()
    {
        killed = true;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(30));
        }

        process.Dispose();
    }

    private async Task WaitReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ReadyWithin;
        while (true)
        {
            if (process.HasExited)
            {
                // Waits for the end of its output too, so the lines that say why are kept.
                process.WaitForExit();
                var recentOutput = RecentOutput();
                throw recentOutput.Contains("address already in use", StringComparison.Ordinal)
                    ? new PortTakenException($"The {ExitDescription} before it was ready: its port was taken. {recentOutput}")
                    : new InvalidOperationException($"The {ExitDescription} before it was ready. {recentOutput}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Log($"ready at {BaseAddress} (pid {process.Id})");
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
                throw new TimeoutException($"The host {name} was not ready at {BaseAddress}health/ready within {ReadyWithin.TotalSeconds:F0} s. {RecentOutput()}");
            }

            await Task.Delay(100);
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (recent)
        {
            recent.Enqueue(line);
            while (recent.Count > KeptLines)
            {
                recent.Dequeue();
            }
        }

        Log(line);
    }

    private void Log(string line)
    {
        try
        {
            output?.WriteLine($"{name}| {line}");
        }
        catch (InvalidOperationException)
        {
            // The test has ended (a host still writing while it is disposed): the line stays in the kept ones only.
        }
    }

    /// <summary>A TCP port free on loopback when asked (anything may take it after).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The host could not listen on the port chosen for it: something else took it first.</summary>
internal sealed class PortTakenException(string message) : InvalidOperationException(message);
