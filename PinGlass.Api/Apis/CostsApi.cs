using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Costs;
using PinGlass.Generations.Persistence;

namespace PinGlass.Api.Apis;

public static class CostsApi
{
    /// <summary>The longest period one report covers.</summary>
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    public static RouteGroupBuilder MapCostsApi(this IEndpointRouteBuilder app)
    {
        var costs = app.MapGroup("/v1/costs").WithTags("Costs").RequireAuthorization();
        costs.MapGet("/", GetCosts).WithName("GetCosts")
            .WithSummary("What the calling client's predictions cost in a period (an operator key: the company's), in all and per UTC day")
            .WithDescription("`from` and `to` are ISO 8601 dates or instants (UTC when no offset); `to` is exclusive. Default: the last 7 days.");
        costs.MapGet("/generations/{id:guid}", GetGenerationCosts).WithName("GetGenerationCosts").AddEndpointFilter<EndUserFilter>()
            .WithSummary("What one generation's predictions cost: total, images, average per image, by model and by status");
        return costs;
    }

    public static async Task<Results<Ok<CostReport>, ValidationProblem>> GetCosts(string? from, string? to, Caller caller, CostLedger ledger,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var end = Read(to, "to", errors) ?? time.GetUtcNow();
        var start = Read(from, "from", errors) ?? end - TimeSpan.FromDays(7);
        if (errors.Count == 0 && (end <= start || end - start > MaxPeriod))
        {
            errors["to"] = [$"to must be after from, and the period at most {MaxPeriod.TotalDays:0} days."];
        }

        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors, title: "The period cannot be used as it is")
            : TypedResults.Ok(await ledger.ForPeriodAsync(start, end, caller.IsOperator ? null : caller.ClientId, cancellationToken));
    }

    public static async Task<Results<Ok<CostMetrics>, ProblemHttpResult>> GetGenerationCosts(Guid id, Caller caller, GenerationStore store,
        CostLedger ledger, CancellationToken cancellationToken) =>
        await store.GetAsync(id, caller.Owner, cancellationToken) is null
            ? TypedResults.Problem(title: "No such generation", detail: $"There is no generation {id}.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(await ledger.ForGenerationAsync(id, cancellationToken));

    private static DateTimeOffset? Read(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        errors[name] = [$"{name} must be an ISO 8601 date or instant, such as 2026-11-24 or 2026-11-24T12:00:00Z, not '{value}'."];
        return null;
    }
}
