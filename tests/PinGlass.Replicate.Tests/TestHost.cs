using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PinGlass.Replicate.Client;

namespace PinGlass.Replicate.Tests;

/// <summary>One request as the wire saw it (below the resilience handler, so every retry is a row).</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, string? Body, int? Status, TimeSpan? RetryAfter, long SentAt, long AnsweredAt)
{
    public bool IsCreate => Method == "POST" && PathAndQuery.EndsWith("/predictions", StringComparison.Ordinal);
}

public sealed class RequestLog
{
    private readonly ConcurrentQueue<RecordedRequest> requests = new();

    /// <summary>When it returns true for a request, the answer is thrown away and the connection "breaks" after the server acted.</summary>
    public Func<HttpRequestMessage, bool>? LoseResponse { get; set; }

    public IReadOnlyList<RecordedRequest> All => [.. requests];

    public IReadOnlyList<RecordedRequest> Creates => [.. requests.Where(r => r.IsCreate)];

    public void Add(RecordedRequest request) => requests.Enqueue(request);
}

public sealed class RecordingHandler(RequestLog log) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null or MultipartContent ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var sent = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch
        {
            log.Add(new(request.Method.Method, request.RequestUri!.PathAndQuery, body, null, null, sent, Stopwatch.GetTimestamp()));
            throw;
        }

        var answered = Stopwatch.GetTimestamp();
        // A throttle's wait, where the client reads it: the header, or the text (the emulator, like Replicate's docs, gives only the text).
        var wait = ReplicateClient.RetryAfter(response) ?? (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests
            ? ReplicateClient.WaitInText(await response.Content.ReadAsStringAsync(cancellationToken)) : null);
        log.Add(new(request.Method.Method, request.RequestUri!.PathAndQuery, body, (int)response.StatusCode, wait, sent, answered));
        if (log.LoseResponse?.Invoke(request) == true)
        {
            response.Dispose();
            throw new HttpRequestException("The connection was reset after the request was sent.");
        }

        return response;
    }
}

/// <summary>A host with ServiceDefaults and AddReplicate, as the Api and Jobs have, configured for the tests.</summary>
public sealed class TestHost(IHost host, RequestLog requests) : IAsyncDisposable
{
    public const string Token = "r8_pinglass_emulator_local_token";

    public IServiceProvider Services => host.Services;

    public RequestLog Requests => requests;

    public ReplicateClient Client => Services.GetRequiredService<ReplicateClient>();

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public static IHost Build(IDictionary<string, string?> settings, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Test" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.AddReplicate();
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <param name="primary">Replaces the network: the stub answers every request.</param>
    public static async Task<TestHost> StartAsync(Uri baseUrl, IDictionary<string, string?>? settings = null, HttpMessageHandler? primary = null,
        Action<HostApplicationBuilder>? configure = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Replicate:ApiToken"] = Token,
            ["Replicate:BaseUrl"] = baseUrl.AbsoluteUri,
            ["Replicate:RetryDelay"] = "00:00:00.050",
            ["Replicate:GenerationTimeout"] = "00:00:30",
            // The emulator runs 100× faster and reads Cancel-After in its own time.
            ["Replicate:CancelAfter"] = "1.00:00:00",
        };
        // A null setting removes the key: the option keeps its default.
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                all.Remove(key);
            }
            else
            {
                all[key] = value;
            }
        }

        var log = new RequestLog();
        var host = Build(all, builder =>
        {
            var client = builder.Services.AddHttpClient(ReplicateClient.HttpClientName).AddHttpMessageHandler(() => new RecordingHandler(log));
            if (primary is not null)
            {
                client.ConfigurePrimaryHttpMessageHandler(() => primary);
            }

            configure?.Invoke(builder);
        });
        await host.StartAsync(TestContext.Current.CancellationToken);
        return new TestHost(host, log);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}

/// <summary>Answers every request from a function, counting them.</summary>
public sealed class StubHandler(Func<HttpRequestMessage, int, HttpResponseMessage> answer) : HttpMessageHandler
{
    private int count;

    public int Count => Volatile.Read(ref count);

    public HttpRequestMessage? Last { get; private set; }

    public static HttpResponseMessage Json(int status, string json, TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage((System.Net.HttpStatusCode)status)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, status >= 400 ? "application/problem+json" : "application/json"),
        };
        if (retryAfter is { } after)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(after);
        }

        return response;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Last = request;
        return Task.FromResult(answer(request, Interlocked.Increment(ref count)));
    }

    protected override void Dispose(bool disposing)
    {
        // Shared by the test across handler chains; the test owns it.
    }
}

/// <summary>Never answers: only a timeout or cancellation ends its requests.</summary>
public sealed class HangingHandler : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("Unreachable.");
    }
}
