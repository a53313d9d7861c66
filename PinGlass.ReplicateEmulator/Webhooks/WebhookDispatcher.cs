using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Http;
using PinGlass.ReplicateEmulator.Predictions;
using PinGlass.ReplicateEmulator.Telemetry;

namespace PinGlass.ReplicateEmulator.Webhooks;

/// <summary>Webhook event types of <c>webhook_events_filter</c>.</summary>
public static class WebhookEvents
{
    public const string Start = "start";
    public const string Output = "output";
    public const string Logs = "logs";
    public const string Completed = "completed";

    public static readonly string[] All = [Start, Output, Logs, Completed];

    /// <summary>Without a filter Replicate sends "whenever there are new outputs or the prediction has finished".</summary>
    public static readonly string[] Default = [Output, Completed];
}

/// <summary>
/// Delivers a prediction's webhooks in order, one prediction at a time, signed, without following redirects.
/// Only the terminal webhook is retried, with exponential backoff ending about a minute after completion.
/// The webhook faults drop, duplicate, delay or reorder deliveries.
/// </summary>
public sealed class WebhookDispatcher(
    IHttpClientFactory httpClients,
    WebhookSigner signer,
    FaultInjector faults,
    Clock clock,
    EmulatorMetrics metrics,
    ILogger<WebhookDispatcher> logger) : IDisposable
{
    public const string HttpClientName = "webhooks";

    /// <summary>Replicate time between attempts of the terminal webhook: the last one lands about 1 minute after the first.</summary>
    private static readonly TimeSpan[] Backoff = [.. new[] { 1, 2, 4, 8, 16, 29 }.Select(s => TimeSpan.FromSeconds(s))];

    private sealed record Delivery(string Event, string WebhookId, string Body, bool Terminal, string Model);

    private readonly ConcurrentDictionary<string, Channel<Delivery>> queues = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();

    /// <summary>Queues the prediction's current state for the event, if its filter asks for it.</summary>
    public void Notify(Prediction prediction, string @event)
    {
        var terminal = @event == WebhookEvents.Completed;
        if (prediction.Webhook is null || !(prediction.WebhookEventsFilter ?? WebhookEvents.Default).Contains(@event))
        {
            // Nothing more will come for this prediction: let its queue finish (and send what a reorder held back).
            if (terminal && queues.TryGetValue(prediction.Id, out var open))
            {
                open.Writer.TryComplete();
            }

            return;
        }

        var body = JsonSerializer.Serialize(prediction.ToResponse(), ReplicateJson.Options);
        var delivery = new Delivery(@event, NewWebhookId(), body, terminal, prediction.Model.FullName);
        var queue = queues.GetOrAdd(prediction.Id, id =>
        {
            var channel = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
            _ = Task.Run(() => DeliverAllAsync(id, prediction.Webhook, channel.Reader));
            return channel;
        });
        queue.Writer.TryWrite(delivery);
        if (terminal)
        {
            queue.Writer.TryComplete();
        }
    }

    private async Task DeliverAllAsync(string predictionId, string url, ChannelReader<Delivery> reader)
    {
        var held = new List<Delivery>();
        try
        {
            await foreach (var delivery in reader.ReadAllAsync(stopping.Token))
            {
                // A reordered delivery is held back and sent after the next one (at the latest after the terminal webhook).
                if (!delivery.Terminal && faults.TryFire(FaultKind.WebhookReorder, delivery.Model, $"{delivery.Event} of {predictionId} held back") is not null)
                {
                    held.Add(delivery);
                    continue;
                }

                await DeliverAsync(predictionId, url, delivery);
                await DeliverHeldAsync(predictionId, url, held);
            }

            await DeliverHeldAsync(predictionId, url, held);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: undelivered webhooks are lost, as they would be if Replicate's sender died.
        }
        finally
        {
            queues.TryRemove(predictionId, out _);
        }
    }

    private async Task DeliverHeldAsync(string predictionId, string url, List<Delivery> held)
    {
        foreach (var late in held)
        {
            await DeliverAsync(predictionId, url, late);
        }

        held.Clear();
    }

    private async Task DeliverAsync(string predictionId, string url, Delivery delivery)
    {
        var model = delivery.Model;
        if (faults.TryFire(FaultKind.WebhookDrop, model, $"{delivery.Event} of {predictionId}") is not null)
        {
            metrics.WebhookAttempt("dropped");
            return;
        }

        if (faults.TryFire(FaultKind.WebhookDelay, model, $"{delivery.Event} of {predictionId}") is { } delay)
        {
            await clock.Delay(delay.Duration ?? TimeSpan.FromSeconds(30), stopping.Token);
        }

        var copies = faults.TryFire(FaultKind.WebhookDuplicate, model, $"{delivery.Event} of {predictionId}") is null ? 1 : 2;
        for (var copy = 0; copy < copies; copy++)
        {
            await SendWithRetriesAsync(predictionId, url, delivery);
        }
    }

    private async Task SendWithRetriesAsync(string predictionId, string url, Delivery delivery)
    {
        for (var attempt = 1; ; attempt++)
        {
            var outcome = await SendOnceAsync(url, delivery);
            if (outcome.StatusCode is { } code && code < 400)
            {
                metrics.WebhookAttempt(code < 300 ? "delivered" : "redirect_not_followed");
                logger.WebhookDelivered(delivery.WebhookId, delivery.Event, predictionId, code, attempt);
                return;
            }

            metrics.WebhookAttempt("failed");
            logger.WebhookFailed(delivery.WebhookId, delivery.Event, predictionId, attempt, outcome.Reason);
            if (!delivery.Terminal || attempt > Backoff.Length)
            {
                return;
            }

            await clock.Delay(Backoff[attempt - 1], stopping.Token);
        }
    }

    private async Task<(int? StatusCode, string Reason)> SendOnceAsync(string url, Delivery delivery)
    {
        var timestamp = clock.UtcNow;
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", delivery.WebhookId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signer.Sign(delivery.WebhookId, timestamp, delivery.Body));
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, stopping.Token);
            return ((int)response.StatusCode, response.StatusCode.ToString());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
        {
            return (null, e.Message);
        }
    }

    /// <summary>A Svix-style message id; retries and duplicates keep it.</summary>
    private static string NewWebhookId() => "msg_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 27);

    public void Dispose()
    {
        stopping.Cancel();
        stopping.Dispose();
    }
}
