using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Generations.Webhooks;

namespace PinGlass.Api.Apis;

public static class WebhooksApi
{
    /// <summary>Replicate's webhook bodies carry the prediction's input, data-URL faces included.</summary>
    private const long BodyLimit = 4_000_000;

    public static RouteGroupBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        // Replicate holds no API key: its webhooks are authenticated by their signature alone.
        var webhooks = app.MapGroup("/v1/webhooks").WithTags("Webhooks").AllowAnonymous();
        webhooks.MapPost("/replicate", ReceiveReplicateWebhook)
            .WithName("ReceiveReplicateWebhook")
            .WithSummary("Replicate's prediction webhooks (Standard Webhooks signature)")
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(BodyLimit));
        return webhooks;
    }

    public static async Task<Results<Ok, ProblemHttpResult>> ReceiveReplicateWebhook(HttpRequest request, ReplicateWebhooks webhooks,
        CancellationToken cancellationToken)
    {
        // The signature covers the raw body, so it is read as text, never re-serialized.
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(cancellationToken);
        return await webhooks.ReceiveAsync(body, request.Headers, request.Query, cancellationToken) switch
        {
            // A webhook-id received before is acknowledged and not acted on again: Replicate sends one twice, and retries the terminal
            // one after any 4xx, so a 409 would only earn a minute of resends.
            WebhookResult.Accepted or WebhookResult.Ignored or WebhookResult.Replayed => TypedResults.Ok(),
            WebhookResult.Unverified => TypedResults.Problem(title: "The webhook does not verify",
                detail: "The webhook-id, webhook-timestamp and webhook-signature headers must sign the body with the account's secret, within five minutes.",
                statusCode: StatusCodes.Status401Unauthorized),
            _ => TypedResults.Problem(title: "The webhook is not a prediction", statusCode: StatusCodes.Status400BadRequest),
        };
    }
}
