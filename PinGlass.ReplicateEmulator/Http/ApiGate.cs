using System.Text.Json;
using Microsoft.Extensions.Options;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Predictions;

namespace PinGlass.ReplicateEmulator.Http;

/// <summary>
/// What every <c>/v1</c> request passes through, in Replicate's order: bearer authentication, the rate limit,
/// then the API faults of the model the request concerns (429 bursts, 5xx answers, 402 on creation, hanging requests), either
/// instead of carrying the request out or, with <see cref="FaultRule.AfterProcessing"/>, after it.
/// </summary>
public sealed class ApiGate(IOptions<EmulatorOptions> options, RateLimits rateLimits, FaultInjector faults, ModelCatalog catalog,
    PredictionStore predictions, Clock clock) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (Authenticate(http.Request) is { } unauthenticated)
        {
            return unauthenticated;
        }

        var bucket = http.GetEndpoint()?.Metadata.GetMetadata<RateLimitBucket>();
        if (rateLimits.Acquire(bucket, http.Response) is { } retryAfter)
        {
            return ReplicateErrors.Throttled(retryAfter);
        }

        var model = ModelOf(context);
        if (faults.RateLimitBurst(model) is { } burst)
        {
            return ReplicateErrors.Throttled(burst);
        }

        var request = $"{http.Request.Method} {http.Request.Path}";
        var serverError = faults.TryFire(FaultKind.ServerError, model, request);
        if (serverError is { AfterProcessing: false })
        {
            return ReplicateErrors.ServerError(serverError.Status ?? 500);
        }

        if (serverError is null && bucket == RateLimitBucket.Create && faults.TryFire(FaultKind.BillingRequired, model, request) is not null)
        {
            return ReplicateErrors.BillingRequired();
        }

        var hang = serverError is null ? faults.TryFire(FaultKind.Hang, model, request) : null;
        if (hang is { AfterProcessing: false })
        {
            await Hang(hang, http);
        }

        var answer = await next(context);

        // The work is done (a create has made its prediction); only the answer is lost.
        if (serverError is { AfterProcessing: true })
        {
            return ReplicateErrors.ServerError(serverError.Status ?? 500);
        }

        if (hang is { AfterProcessing: true })
        {
            await Hang(hang, http);
        }

        return answer;
    }

    private Task Hang(FaultRule hang, HttpContext http) => clock.Delay(hang.Duration ?? TimeSpan.FromMinutes(10), http.RequestAborted);

    private ReplicateProblemResult? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return ReplicateErrors.MissingToken();
        }

        // "Token" is the legacy scheme the API still accepted in 2023.
        var parts = header.Split(' ', 2, StringSplitOptions.TrimEntries);
        var valid = parts is [var scheme, var token]
                    && (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || scheme.Equals("Token", StringComparison.OrdinalIgnoreCase))
                    && token == options.Value.ApiToken;
        return valid ? null : ReplicateErrors.InvalidToken();
    }

    /// <summary>The model a request concerns: from the route, the prediction it names, or the body's version.</summary>
    private string? ModelOf(EndpointFilterInvocationContext context)
    {
        var route = context.HttpContext.Request.RouteValues;
        if (route.TryGetValue("owner", out var owner) && route.TryGetValue("name", out var name))
        {
            return catalog.Find($"{owner}", $"{name}")?.FullName ?? $"{owner}/{name}";
        }

        if (route.TryGetValue("id", out var id) && context.HttpContext.Request.Path.StartsWithSegments("/v1/predictions"))
        {
            return predictions.Find($"{id}")?.Model.FullName;
        }

        return context.Arguments.OfType<JsonElement>().FirstOrDefault() is { ValueKind: JsonValueKind.Object } body
               && body.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String
            ? catalog.ResolveVersion(version.GetString()!, out _)?.FullName
            : null;
    }
}
