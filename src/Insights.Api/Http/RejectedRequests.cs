using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using ListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace Insights.Http;

/// <summary>
/// Gives a problem details body to the error responses Kestrel writes itself, before any middleware runs: a request
/// line or headers over the limits (414, 431), malformed bytes (400), headers that do not arrive in time (408).
/// </summary>
/// <remarks>
/// Kestrel has no hook for these bodies but raises its <c>BadRequest</c> diagnostic event just before writing; after
/// that event the connection's <see cref="RejectionAwareOutput"/> rewrites the bodyless answer with the problem
/// (docs/decisions/0009-kestrel-rejected-request-rewrite.md).
/// </remarks>
internal sealed class RejectedRequests : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    private readonly IServiceProvider services;
    private readonly IProblemDetailsService problems;
    private readonly IOptions<HttpOptions> options;
    private readonly IDisposable subscription;

    public RejectedRequests(IServiceProvider services, DiagnosticListener diagnostics, IProblemDetailsService problems, IOptions<HttpOptions> options)
    {
        this.services = services;
        this.problems = problems;
        this.options = options;
        subscription = diagnostics.Subscribe(this, name => name == BadRequestEvent);
    }

    /// <summary>Puts the rejection-aware output under every connection of the endpoint.</summary>
    public static void Attach(ListenOptions listen) => listen.Use(next =>
    {
        var rejections = listen.ApplicationServices.GetRequiredService<RejectedRequests>();
        return async connection =>
        {
            var transport = connection.Transport;
            var output = new RejectionAwareOutput(transport.Output, rejections);
            connection.Transport = new DuplexPipe(transport.Input, output);
            connection.Features.Set(output);
            try
            {
                await next(connection);
            }
            finally
            {
                connection.Transport = transport;
            }
        };
    });

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key != BadRequestEvent || value.Value is not IFeatureCollection features || features.Get<RejectionAwareOutput>() is not { } output)
        {
            return;
        }

        // A response to HEAD carries no body, so Kestrel's answer stays as it is. HTTP/2 and HTTP/3 reset the stream
        // instead of answering, and their frames are never rewritten.
        var request = features.Get<IHttpRequestFeature>();
        if (HttpMethods.IsHead(request?.Method ?? "") || HttpProtocol.IsHttp2(request?.Protocol ?? "") || HttpProtocol.IsHttp3(request?.Protocol ?? ""))
        {
            return;
        }

        var status = (features.Get<IBadRequestExceptionFeature>()?.Error as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest;
        output.Expect(new Rejection(status, features.Get<IHttpRequestIdentifierFeature>()?.TraceIdentifier ?? ""));
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose() => subscription.Dispose();

    /// <summary>The problem body and its media type, worded by the same service as every other error.</summary>
    internal async Task<Problem?> ProblemAsync(Rejection rejection)
    {
        using var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = services, TraceIdentifier = rejection.TraceId };
        context.Response.StatusCode = rejection.Status;
        context.Response.Body = body;
        var written = await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = rejection.Status, Detail = Describe(rejection.Status) },
        });
        return written && context.Response.ContentType is { Length: > 0 } contentType ? new Problem(body.ToArray(), contentType) : null;
    }

    private string Describe(int status)
    {
        var limits = options.Value;
        return status switch
        {
            StatusCodes.Status400BadRequest => "The request could not be read: its request line or headers are malformed.",
            StatusCodes.Status408RequestTimeout => "The request headers did not arrive in time.",
            StatusCodes.Status414UriTooLong =>
                $"The request line (method, path and query string) is longer than the limit of {limits.MaxRequestLineBytes} bytes.",
            StatusCodes.Status431RequestHeaderFieldsTooLarge =>
                $"The request headers exceed the limits of {limits.MaxRequestHeadersBytes} bytes in all and {limits.MaxRequestHeaderCount} headers.",
            _ => Problems.DefaultDetail(status),
        };
    }

    internal sealed record Problem(byte[] Body, string ContentType);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }
}
