using System.Text.Json;
using Hangfire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PinGlass.Generations.Jobs;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Resilience;
using StackExchange.Redis;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace PinGlass.Generations.Webhooks;

public enum WebhookResult
{
    /// <summary>Verified and handed to a job.</summary>
    Accepted,

    /// <summary>Verified, but about a state PinGlass does not act on (not terminal).</summary>
    Ignored,

    /// <summary>A <c>webhook-id</c> already received: not acted on again.</summary>
    Replayed,

    /// <summary>Missing or wrong signature headers, or a timestamp more than five minutes away.</summary>
    Unverified,

    /// <summary>Signed, but not a prediction.</summary>
    Malformed,
}

/// <summary>
/// Receives Replicate's webhooks: verifies the Standard Webhooks signature (which also refuses timestamps more than five minutes
/// old or ahead), refuses a <c>webhook-id</c> seen before (Replicate resends with the same id; an attacker replays one), and hands the
/// prediction to a job. Nothing slow happens here, so Replicate gets its answer in milliseconds.
/// </summary>
public sealed partial class ReplicateWebhooks(ReplicateClient replicate, WebhookSecret secret, IConnectionMultiplexer redis, IBackgroundJobClient jobs,
    GenerationMetrics metrics, ILogger<ReplicateWebhooks> logger)
{
    /// <summary>How long a webhook id is remembered: beyond the signature's five-minute window, so a replay is either stale or known.</summary>
    private static readonly TimeSpan ReplayWindow = TimeSpan.FromMinutes(15);

    /// <param name="query">
    /// The query of the URL the webhook came to: PinGlass's own webhook URL, with the attempt's marker and the creating span in it.
    /// Replicate's published prediction schema has no <c>webhook</c> field, so neither is read from the body.
    /// </param>
    public async Task<WebhookResult> ReceiveAsync(string body, IHeaderDictionary headers, IQueryCollection query, CancellationToken cancellationToken)
    {
        if (!await VerifyAsync(body, headers, cancellationToken))
        {
            metrics.Webhook("unverified");
            return WebhookResult.Unverified;
        }

        if (Read(body) is not { } prediction)
        {
            metrics.Webhook("malformed");
            return WebhookResult.Malformed;
        }

        using var activity = WebhookTrace.StartReceived(prediction.Id, prediction.Status, query[WebhookTrace.Parameter]);
        var key = new RedisKey($"pinglass:webhooks:{headers["webhook-id"]}");
        if (!await redis.GetDatabase().StringSetAsync(key, prediction.Id, ReplayWindow, When.NotExists))
        {
            LogReplayed(logger, headers["webhook-id"].ToString(), prediction.Id);
            metrics.Webhook("replayed");
            return WebhookResult.Replayed;
        }

        if (!PredictionStatus.IsTerminal(prediction.Status))
        {
            metrics.Webhook("ignored");
            return WebhookResult.Ignored;
        }

        try
        {
            var marker = query[SafeCreate.MarkerParameter].ToString() is { Length: > 0 } given ? given : null;
            jobs.Enqueue<GenerationJobs>(j => j.CompleteAsync(prediction.Id, marker, CancellationToken.None));
        }
        catch
        {
            // Not handed over: forget the id, so Replicate's resend is taken.
            await redis.GetDatabase().KeyDeleteAsync(key);
            throw;
        }

        metrics.Webhook("accepted");
        return WebhookResult.Accepted;
    }

    private async Task<bool> VerifyAsync(string body, IHeaderDictionary headers, CancellationToken cancellationToken)
    {
        var verifier = await secret.VerifierAsync(replicate.GetWebhookSecretAsync, refresh: false, cancellationToken);
        if (Verifies(verifier, body, headers, out var reason))
        {
            return true;
        }

        // A rotated secret: fetch it again (not more than once a minute) and try once more.
        if (secret.MayRefresh && Verifies(await secret.VerifierAsync(replicate.GetWebhookSecretAsync, refresh: true, cancellationToken), body, headers, out reason))
        {
            return true;
        }

        LogUnverified(logger, reason);
        return false;
    }

    private static bool Verifies(StandardWebhook verifier, string body, IHeaderDictionary headers, out string reason)
    {
        try
        {
            verifier.Verify(body, headers);
            reason = "";
            return true;
        }
        catch (WebhookVerificationException e)
        {
            reason = e.Message;
            return false;
        }
    }

    private static WebhookPrediction? Read(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<WebhookPrediction>(body, ReplicateJson.Options) is { Id.Length: > 0, Status.Length: > 0 } prediction
                ? prediction
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record WebhookPrediction(string Id, string Status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a webhook that does not verify: {Reason}")]
    private static partial void LogUnverified(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused webhook {WebhookId} for {PredictionId}: already received")]
    private static partial void LogReplayed(ILogger logger, string webhookId, string predictionId);
}
