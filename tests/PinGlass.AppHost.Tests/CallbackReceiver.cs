using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// A client's webhook receiver, in the test process on loopback (allowed in Development): it keeps every request it got and answers
/// as its path says — <c>/ok/…</c> 200; <c>/flaky/…</c> 503 to a webhook-id's first request, 200 after; <c>/down/…</c> 500 until
/// <see cref="Healed"/>.
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, string WebhookId, IHeaderDictionary Headers, string Body, int Answered);

    private readonly WebApplication app;
    private readonly ConcurrentQueue<Received> received = new();

    private CallbackReceiver(WebApplication app) => this.app = app;

    public bool Healed { get; set; }

    public string BaseUrl => app.Urls.First();

    public IReadOnlyList<Received> For(string path) => [.. received.Where(r => r.Path == path)];

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.MapPost("/{kind}/{tag}", async (string kind, string tag, HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value));

            var id = request.Headers["webhook-id"].ToString();
            var path = $"/{kind}/{tag}";
            var status = kind switch
            {
                "flaky" when !receiver.received.Any(r => r.Path == path && r.WebhookId == id) => 503,
                "down" when !receiver.Healed => 500,
                _ => 200,
            };
            receiver.received.Enqueue(new Received(path, id, headers, body, status));
            return Results.StatusCode(status);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
