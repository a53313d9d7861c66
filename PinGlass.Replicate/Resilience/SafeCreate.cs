using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// Creates a prediction without ever leaving a second, billed one behind. A create POST is not idempotent, so:
/// <list type="bullet">
/// <item>it is sent again at once (after the delay) only when nothing can have been created: a 429 or a refused connection;</item>
/// <item>after an ambiguous outcome (a timeout, a broken connection, a 5xx) the next attempt first lists the recent predictions and
/// looks for one carrying a marker of an earlier attempt; if it finds one it adopts it instead of creating another;</item>
/// <item>when retries run out after an ambiguous outcome it looks once more, and adopts what was made.</item>
/// </list>
/// The marker is a query parameter on the webhook URL, the same for every request of one create, which Replicate echoes in every
/// prediction. Without a webhook URL the prediction with exactly the same input is taken to be ours. A caller that keeps its own
/// record of creates passes its marker (<see cref="CreateKey"/>), and after a crash resumes with it: the search then comes first.
/// </summary>
public sealed class SafeCreate(ReplicateClient client, IOptions<ReplicateOptions> options, TimeProvider time, ReplicateMetrics metrics,
    ILogger<SafeCreate> logger)
{
    public const string MarkerParameter = "pinglass_attempt";

    /// <summary>How far before the first attempt the search starts: our clock and Replicate's may disagree.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    /// <summary>The search reads at most this many pages of 100 (more would mean thousands of creates within minutes).</summary>
    private const int MaxPages = 5;

    private readonly ResiliencePipeline<Prediction> pipeline = BuildPipeline(options.Value, time, metrics);

    public async Task<Prediction> CreateAsync(ModelRef model, JsonObject input, CreatePredictionOptions create, CancellationToken cancellationToken,
        CreateKey? key = null)
    {
        var since = (key?.Since ?? time.GetUtcNow()) - ClockSkew;
        var marker = key?.Marker ?? Guid.NewGuid().ToString("N");
        var ambiguous = key?.Resumed ?? false;
        try
        {
            return await pipeline.ExecuteAsync(async token =>
            {
                if (ambiguous && await FindAsync(model, input, create, marker, since, token) is { } made)
                {
                    return made;
                }

                try
                {
                    return await client.CreatePredictionAsync(model, input, create with { Webhook = Mark(create.Webhook, marker) }, token);
                }
                catch (ReplicateException e) when (!e.NotSent && ErrorPolicy.IsRetryable(e.Category))
                {
                    ambiguous = true;
                    logger.AmbiguousCreate(model.FullName, e.Category, e.Message);
                    throw;
                }
            }, cancellationToken);
        }
        catch (ReplicateException) when (ambiguous)
        {
            // The last outcome is unknown too: adopt what was made rather than leave a billed orphan behind.
            if (await FindAsync(model, input, create, marker, since, cancellationToken) is not { } made)
            {
                throw;
            }

            return made;
        }
    }

    internal static Uri? Mark(Uri? webhook, string marker)
    {
        if (webhook is null)
        {
            return null;
        }

        var separator = string.IsNullOrEmpty(webhook.Query) ? "?" : "&";
        return new Uri($"{webhook.AbsoluteUri}{separator}{MarkerParameter}={marker}");
    }

    /// <summary>Finds what earlier attempts created; adopts the first and cancels any others.</summary>
    private async Task<Prediction?> FindAsync(ModelRef model, JsonObject input, CreatePredictionOptions create, string marker,
        DateTimeOffset since, CancellationToken cancellationToken)
    {
        var found = new List<Prediction>();
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var predictions = await client.ListPredictionsAsync(cursor, cursor is null ? since : null, cancellationToken);
            found.AddRange(predictions.Results.Where(p => IsOurs(p, input, create, marker)));
            cursor = predictions.Next;
            if (cursor is null || predictions.Results.Count == 0 || predictions.Results[^1].CreatedAt < since)
            {
                break;
            }
        }

        if (found.Count == 0)
        {
            logger.NothingCreated(model.FullName);
            return null;
        }

        // Newest first: keep the oldest, which has been running longest.
        var adopted = found[^1];
        logger.Adopted(adopted.Id, model.FullName);
        metrics.Adopted(model.FullName);
        foreach (var duplicate in found.Take(found.Count - 1).Where(p => !p.IsTerminal))
        {
            logger.CancelingDuplicate(duplicate.Id, model.FullName);
            await client.CancelPredictionAsync(duplicate.Id, cancellationToken);
        }

        return adopted;
    }

    private static bool IsOurs(Prediction prediction, JsonObject input, CreatePredictionOptions create, string marker) =>
        create.Webhook is null
            ? prediction.Input is { } echoed && JsonNode.DeepEquals(JsonNode.Parse(echoed.GetRawText()), input)
            : MarkerOf(prediction) == marker;

    /// <summary>The marker a prediction was created with, read from the webhook URL Replicate echoes; null without one.</summary>
    public static string? MarkerOf(Prediction prediction)
    {
        if (prediction.Webhook is not { } webhook || !Uri.TryCreate(webhook, UriKind.Absolute, out var url))
        {
            return null;
        }

        var prefix = MarkerParameter + "=";
        return url.Query.TrimStart('?').Split('&').FirstOrDefault(p => p.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..] is { Length: > 0 } value
            ? Uri.UnescapeDataString(value)
            : null;
    }

    private static ResiliencePipeline<Prediction> BuildPipeline(ReplicateOptions options, TimeProvider time, ReplicateMetrics metrics)
    {
        var builder = new ResiliencePipelineBuilder<Prediction> { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<Prediction>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                MaxDelay = options.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is ReplicateException e && ErrorPolicy.IsRetryable(e.Category)),
                // Retry-After is the server's word on when a new request can succeed; it replaces the backoff.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is ReplicateException { RetryAfter: { } after } ? after : (TimeSpan?)null),
                OnRetry = _ =>
                {
                    RetryTally.Count();
                    metrics.Retried("create");
                    return default;
                },
            });
        }

        return builder.Build();
    }
}

/// <summary>A create the caller keeps its own record of: its marker, when it was first tried, and whether this call resumes it.</summary>
public sealed record CreateKey(string Marker, DateTimeOffset Since, bool Resumed);
