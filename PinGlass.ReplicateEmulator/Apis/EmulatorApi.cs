using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.ReplicateEmulator.Billing;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Predictions;

namespace PinGlass.ReplicateEmulator.Apis;

public sealed record FaultsResponse(IReadOnlyList<FaultRule> Rules, IReadOnlyDictionary<string, long> Injected);

/// <summary>
/// The emulator's own control plane under <c>/_emulator</c> (not part of Replicate's API, so no token):
/// the billing ledger, the fault rules, every prediction with its webhook, and a prediction's retention period cut short.
/// </summary>
public static class EmulatorApi
{
    public static IEndpointRouteBuilder MapEmulatorApi(this IEndpointRouteBuilder app)
    {
        var emulator = app.MapGroup("/_emulator");
        emulator.MapGet("/ledger", (Ledger ledger) => TypedResults.Ok(ledger.Snapshot()));
        emulator.MapDelete("/ledger", (Ledger ledger) =>
        {
            ledger.Clear();
            return TypedResults.NoContent();
        });
        emulator.MapGet("/faults", Faults);
        emulator.MapPut("/faults", Results<Ok<FaultsResponse>, ValidationProblem> (List<FaultRule> rules, FaultInjector injector) =>
        {
            if (Invalid(rules) is { } problem)
            {
                return problem;
            }

            injector.Replace(rules);
            return Faults(injector);
        });
        emulator.MapPost("/faults", Results<Ok<FaultsResponse>, ValidationProblem> (FaultRule rule, FaultInjector injector) =>
        {
            if (Invalid([rule]) is { } problem)
            {
                return problem;
            }

            injector.Add(rule);
            return Faults(injector);
        });
        emulator.MapDelete("/faults", (FaultInjector injector) =>
        {
            injector.Replace([]);
            return Faults(injector);
        });
        // Every prediction as a GET of it reads (webhook included, which Replicate's list leaves out), newest first: what a test or an
        // operator needs to tell whose predictions are whose.
        emulator.MapGet("/predictions", (PredictionStore predictions) =>
            TypedResults.Ok(predictions.All.OrderByDescending(p => p.Sequence).Select(p => p.ToResponse()).ToList()));
        // The retention period passing for one prediction now, rather than an hour after it ended.
        emulator.MapPost("/predictions/{id}/expire", Results<NoContent, NotFound> (string id, PredictionStore predictions, PredictionRunner runner) =>
        {
            if (predictions.Find(id) is not { } prediction)
            {
                return TypedResults.NotFound();
            }

            runner.RemoveData(prediction);
            return TypedResults.NoContent();
        });
        return app;
    }

    private static Ok<FaultsResponse> Faults(FaultInjector injector) => TypedResults.Ok(new FaultsResponse(injector.Rules, injector.Injected));

    private static ValidationProblem? Invalid(IEnumerable<FaultRule> rules)
    {
        var errors = rules.SelectMany(r => r.Validate()).ToArray();
        return errors.Length == 0 ? null : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["faults"] = errors });
    }
}
