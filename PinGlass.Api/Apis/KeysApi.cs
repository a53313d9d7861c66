using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Clients;

namespace PinGlass.Api.Apis;

/// <summary>
/// The operators' management of client applications and their keys, over HTTP as the <c>keys</c> command does it against the database
/// (what <c>pinglass keys</c> calls): an operator client's key only; a new key is in the answer once and never again.
/// </summary>
public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var operators = app.MapGroup("/v1").WithTags("Keys").RequireAuthorization(policy => policy.RequireRole(ApiKeyAuthenticationHandler.OperatorRole));
        operators.MapGet("/keys", ListKeys).WithName("ListKeys")
            .WithSummary("Every API key (or one client's, ?client=): id, client, hint, created, last used, revoked, the client's own limits");
        operators.MapPost("/keys", CreateKey).WithName("CreateKey")
            .WithSummary("A new key for a client application (the client is created if new; an operator client with operator: true); the key is shown once")
            .ProducesValidationProblem();
        operators.MapDelete("/keys/{id:guid}", RevokeKey).WithName("RevokeKey").WithSummary("Revoke a key: it authenticates nothing from now on");
        operators.MapPut("/clients/{client}/limits", SetLimits).WithName("SetClientLimits")
            .WithSummary("A client's own limits; one left out (null) is the Quotas default again").ProducesValidationProblem();
        return operators;
    }

    /// <param name="client">One client's keys; none (or <c>?client=</c>, empty) lists every key.</param>
    public static async Task<Ok<List<ApiKeyInfo>>> ListKeys(string? client, ClientStore clients, CancellationToken cancellationToken) =>
        TypedResults.Ok(await clients.KeysAsync(string.IsNullOrEmpty(client) ? null : client, cancellationToken));

    public static async Task<Results<Created<NewKey>, ValidationProblem>> CreateKey(NewKeyRequest request, ClientStore clients, CancellationToken cancellationToken)
    {
        if (!ApiKeys.IsClientName(request.Client))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["client"] = ["The client's name is 1–100 characters, none a control character."] });
        }

        var (info, key) = await clients.CreateKeyAsync(request.Client, request.Operator, cancellationToken);
        return TypedResults.Created($"/v1/keys?client={Uri.EscapeDataString(info.Client)}", new NewKey(info, key));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(Guid id, ClientStore clients, CancellationToken cancellationToken) =>
        await clients.RevokeAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem(title: "No such active key", detail: $"There is no active key {id}.", statusCode: StatusCodes.Status404NotFound);

    public static async Task<Results<Ok<ClientLimitsOverride>, ValidationProblem, ProblemHttpResult>> SetLimits(string client, ClientLimitsOverride limits,
        ClientStore clients, CancellationToken cancellationToken)
    {
        var problems = limits.Problems().ToDictionary(p => p.Field, p => new[] { p.Problem });
        if (problems.Count > 0)
        {
            return TypedResults.ValidationProblem(problems, title: "The limits cannot be used as they are");
        }

        return await clients.SetLimitsAsync(client, limits, cancellationToken)
            ? TypedResults.Ok(limits)
            : TypedResults.Problem(title: "No such client", detail: $"There is no client '{client}'.", statusCode: StatusCodes.Status404NotFound);
    }
}

public sealed record NewKeyRequest(string Client, bool Operator = false);

/// <param name="Key">The key itself: shown in this answer only; PinGlass keeps its hash.</param>
public sealed record NewKey(ApiKeyInfo Info, string Key);
