using Hangfire;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.ClientWebhooks;

namespace PinGlass.Api.Apis;

/// <summary>
/// The webhooks PinGlass sends to its clients: a client's signing secret, and for operators the dead letters and their replay. (The
/// webhooks Replicate sends PinGlass are <see cref="WebhooksApi"/>.)
/// </summary>
public static class ClientWebhooksApi
{
    private const int DeadLetterLimit = 500;

    public static RouteGroupBuilder MapClientWebhooksApi(this IEndpointRouteBuilder app)
    {
        var clients = app.MapGroup("/v1/webhooks").WithTags("Client webhooks").RequireAuthorization();
        clients.MapGet("/secret", GetSecret).WithName("GetWebhookSecret")
            .WithSummary("The calling client's webhook signing secret (whsec_…), made on first use: it verifies the webhooks sent to a generation's callbackUrl");
        clients.MapPost("/secret/rotate", RotateSecret).WithName("RotateWebhookSecret")
            .WithSummary("A new signing secret for the calling client: every webhook sent from now on, retries included, is signed with it");

        var operators = app.MapGroup("/v1/webhooks").WithTags("Client webhooks")
            .RequireAuthorization(policy => policy.RequireRole(ApiKeyAuthenticationHandler.OperatorRole));
        operators.MapGet("/dead-letters", ListDeadLetters).WithName("ListDeadWebhooks")
            .WithSummary("Client webhooks that failed every attempt, newest first (?client= for one client's), with their last status and error");
        operators.MapPost("/deliveries/{id:guid}/replay", Replay).WithName("ReplayWebhook")
            .WithSummary("Send a dead (or delivered) client webhook again: same webhook-id and body, a fresh signature, its attempts from the start");
        return clients;
    }

    public static async Task<Ok<WebhookSecretView>> GetSecret(Caller caller, ClientWebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WebhookSecretView(await store.SecretAsync(caller.ClientId, cancellationToken)));

    public static async Task<Ok<WebhookSecretView>> RotateSecret(Caller caller, ClientWebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WebhookSecretView(await store.RotateSecretAsync(caller.ClientId, cancellationToken)));

    public static async Task<Ok<List<WebhookDeliveryView>>> ListDeadLetters(string? client, ClientWebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.DeadAsync(string.IsNullOrEmpty(client) ? null : client, DeadLetterLimit, cancellationToken));

    public static async Task<Results<Accepted<WebhookDeliveryView>, ProblemHttpResult>> Replay(Guid id, ClientWebhookStore store, ClientWebhookOutbox outbox,
        CancellationToken cancellationToken)
    {
        if (!await store.ReplayAsync(id, cancellationToken))
        {
            return TypedResults.Problem(title: "No such finished webhook",
                detail: $"There is no client webhook {id} that is dead or delivered (one still being tried is left to its attempts).",
                statusCode: StatusCodes.Status404NotFound);
        }

        outbox.Enqueue([id]);
        return TypedResults.Accepted((string?)null, await store.GetAsync(id, cancellationToken));
    }
}

/// <param name="Secret">Verifies the Standard Webhooks signature of every webhook PinGlass sends this client.</param>
public sealed record WebhookSecretView(string Secret);
