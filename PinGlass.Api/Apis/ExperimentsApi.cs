using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Persistence;

namespace PinGlass.Api.Apis;

/// <summary>
/// Operators' experiments: arms of generation settings and a traffic split, run, reweighted and stopped at run time (no redeploy), and
/// their outcomes per arm with 95 % intervals and the differences from the control.
/// </summary>
public static partial class ExperimentsApi
{
    public static RouteGroupBuilder MapExperimentsApi(this IEndpointRouteBuilder app)
    {
        var experiments = app.MapGroup("/v1/experiments").WithTags("Experiments")
            .RequireAuthorization(policy => policy.RequireRole(ApiKeyAuthenticationHandler.OperatorRole));
        experiments.MapPost("/", CreateExperiment).WithName("CreateExperiment")
            .WithSummary("Start an experiment: 2–10 arms (provider, multiReference, steps, idWeightScale) with weights; one runs at a time")
            .WithDescription("""
                With `assignment: split` (default) each end user is assigned an arm deterministically (SHA-256 of the key, client and
                user over the weights), so their generations keep their arm while the weights stay; with `preference` each
                generation's arm is the one its user's feedback favours (a fifth explore: GET /v1/users/{user}/preferences). The
                first arm is the control the others are compared with. `client` limits it to one client application's users.
                """)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        experiments.MapGet("/{key}", GetExperiment).WithName("GetExperiment")
            .WithSummary("An experiment's arms and outcomes: success rates, cost, latency, identity score, flagged rate, feedback, each with its 95 % interval");
        experiments.MapPut("/{key}/arms/{arm}", ReweightArm).WithName("ReweightArm")
            .WithSummary("Set an arm's weight (0 stops it: no new user is assigned it)").ProducesValidationProblem();
        experiments.MapPost("/{key}/stop", StopExperiment).WithName("StopExperiment")
            .WithSummary("Stop the experiment: new generations are in no arm; its outcomes stay readable");
        return experiments;
    }

    public static async Task<Results<Created<ExperimentView>, ValidationProblem, ProblemHttpResult>> CreateExperiment(NewExperiment request,
        ExperimentStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Key is not { } key || !Name().IsMatch(key))
        {
            errors["key"] = ["key is 1–63 lowercase letters, digits and hyphens, starting with a letter or digit."];
        }

        var arms = request.Arms ?? [];
        if (arms.Count is < 2 or > 10)
        {
            errors["arms"] = ["An experiment has 2 to 10 arms."];
        }

        foreach (var (arm, i) in arms.Select((a, i) => (a, i)))
        {
            var problems = (arm.Settings ?? new ArmSettings()).Problems().ToList();
            if (arm.Name is not { } name || !Name().IsMatch(name))
            {
                problems.Add("name is 1–63 lowercase letters, digits and hyphens.");
            }

            if (arm.Weight is not (>= 0 and <= 10_000))
            {
                problems.Add("weight is required, from 0 to 10000.");
            }

            if (problems.Count > 0)
            {
                errors[$"arms[{i}]"] = [.. problems];
            }
        }

        var assignment = ArmAssignmentMode.Split;
        if (request.Assignment is { } mode && !StatusNames.TryParse(mode, out assignment))
        {
            errors["assignment"] = ["assignment is split or preference."];
        }

        if (request.Description is { Length: > 1000 })
        {
            errors["description"] = ["description is at most 1000 characters."];
        }

        if (arms.Select(a => a.Name).Distinct().Count() != arms.Count)
        {
            errors["arms"] = [.. errors.GetValueOrDefault("arms") ?? [], "Arm names are distinct."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The experiment cannot be used as it is");
        }

        var definition = new ExperimentDefinition(request.Key!, request.Description ?? "", true,
            [.. arms.Select(a => new Arm(a.Name!, a.Weight!.Value, a.Settings ?? new ArmSettings()))], request.Client, assignment);
        return await store.CreateAsync(definition, cancellationToken) switch
        {
            ExperimentChange.Done => TypedResults.Created($"/v1/experiments/{definition.Key}", await store.ViewAsync(definition.Key, cancellationToken)),
            ExperimentChange.NotFound => TypedResults.Problem(title: "No such client", detail: $"There is no client '{request.Client}'.",
                statusCode: StatusCodes.Status404NotFound),
            _ => TypedResults.Problem(title: "The experiment cannot start",
                detail: "An experiment with this key exists, or another experiment is running (stop it first).", statusCode: StatusCodes.Status409Conflict),
        };
    }

    public static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> GetExperiment(string key, ExperimentStore store, CancellationToken cancellationToken) =>
        await store.ViewAsync(key, cancellationToken) is { } view ? TypedResults.Ok(view) : NotFound(key);

    public static async Task<Results<Ok<ExperimentView>, ValidationProblem, ProblemHttpResult>> ReweightArm(string key, string arm, ArmWeight request,
        ExperimentStore store, CancellationToken cancellationToken)
    {
        // A body without a weight is a mistake, not a stop: 0 is only ever said.
        if (request.Weight is not (>= 0 and <= 10_000))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["weight"] = ["weight is required, from 0 to 10000."] });
        }

        return await store.SetWeightAsync(key, arm, request.Weight.Value, cancellationToken)
            ? TypedResults.Ok((await store.ViewAsync(key, cancellationToken))!)
            : TypedResults.Problem(title: "No such arm", detail: $"Experiment '{key}' has no arm '{arm}'.", statusCode: StatusCodes.Status404NotFound);
    }

    public static async Task<Results<Ok<ExperimentView>, ProblemHttpResult>> StopExperiment(string key, ExperimentStore store, CancellationToken cancellationToken) =>
        await store.StopAsync(key, cancellationToken) ? TypedResults.Ok((await store.ViewAsync(key, cancellationToken))!) : NotFound(key);

    private static ProblemHttpResult NotFound(string key) =>
        TypedResults.Problem(title: "No such experiment", detail: $"There is no experiment '{key}' (or it is not running).", statusCode: StatusCodes.Status404NotFound);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,62}\z")]
    private static partial Regex Name();
}

/// <param name="Client">Only this client application's users are assigned (its name); none for every client's.</param>
/// <param name="Assignment"><c>split</c> (default): a user's arm fixed by a hash over the weights; <c>preference</c>: each generation's arm
/// chosen from the feedback on the arms' portraits.</param>
public sealed record NewExperiment(string? Key, string? Description, IReadOnlyList<NewArm>? Arms, string? Client = null, string? Assignment = null);

public sealed record NewArm(string? Name, int? Weight, ArmSettings? Settings);

public sealed record ArmWeight(int? Weight);
