using System.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using PinGlass.ServiceDefaults;

namespace PinGlass.Generations.Webhooks;

/// <summary>
/// Carries a generation's trace through Replicate: the webhook URL a prediction is created with names the span that created it, and
/// Replicate posts the webhook to that URL. The webhook's own request starts a trace of its own (Replicate knows nothing of ours); the
/// span <see cref="StartReceived"/> opens joins the generation's trace again, linked to that request, so the completion job it queues
/// runs in the generation's trace.
/// </summary>
public static class WebhookTrace
{
    public const string Parameter = "traceparent";

    /// <summary>The webhook URL naming the current span, or as it is when there is none.</summary>
    public static Uri? Carry(Uri? webhook) =>
        webhook is not null && Activity.Current is { IdFormat: ActivityIdFormat.W3C, Id: { } id }
            ? new Uri(QueryHelpers.AddQueryString(webhook.AbsoluteUri, Parameter, id))
            : webhook;

    /// <summary>
    /// Opens the span a verified webhook is handled in, a child of the span that created the prediction when the URL it came to names
    /// one (<paramref name="traceparent"/>, from its query). A malformed one starts a trace of its own: the URL is not signed, so it
    /// can only place the span, never change what is done.
    /// </summary>
    public static Activity? StartReceived(string predictionId, string status, string? traceparent)
    {
        var parent = default(ActivityContext);
        if (!string.IsNullOrEmpty(traceparent))
        {
            ActivityContext.TryParse(traceparent, null, out parent);
        }

        ActivityLink[] links = Activity.Current is { } request ? [new ActivityLink(request.Context)] : [];
        var activity = PinGlassTelemetry.ActivitySource.StartActivity("Replicate webhook", ActivityKind.Consumer, parent, links: links);
        activity?.SetTag("replicate.prediction.id", predictionId);
        activity?.SetTag("replicate.prediction.status", status);
        return activity;
    }
}
