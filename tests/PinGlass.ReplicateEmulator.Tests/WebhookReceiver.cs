using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PinGlass.ReplicateEmulator.Tests;

public sealed record ReceivedWebhook(string Path, string Id, string Timestamp, string Signature, string Body, DateTimeOffset At)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Status => Json.GetProperty("status").GetString()!;
}

/// <summary>A webhook endpoint on Kestrel that records every request and answers what the test tells it to.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();

    private WebhookReceiver(WebApplication app) => this.app = app;

    /// <summary>Decides the answer to a delivery, from its path and how many deliveries that path has had (1-based).</summary>
    public Func<string, int, IResult> Respond { get; set; } = (_, _) => Results.Ok();

    public IReadOnlyList<ReceivedWebhook> Received => [.. received];

    public string Url(string path) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + path;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/{**path}", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var path = request.Path.Value!;
            receiver.received.Enqueue(new(path, request.Headers["webhook-id"].ToString(), request.Headers["webhook-timestamp"].ToString(),
                request.Headers["webhook-signature"].ToString(), body, DateTimeOffset.UtcNow));
            return receiver.Respond(path, receiver.received.Count(r => r.Path == path));
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    public IReadOnlyList<ReceivedWebhook> For(string path) => [.. received.Where(r => r.Path == path)];

    /// <summary>Waits until the path has received at least <paramref name="count"/> deliveries.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(string path, int count, int timeoutSeconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (For(path).Count < count)
        {
            Assert.True(DateTime.UtcNow < until, $"{path} received {For(path).Count} webhooks, expected {count}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        return For(path);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
