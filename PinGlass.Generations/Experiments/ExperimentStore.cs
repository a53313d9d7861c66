using System.Text.Json;
using Npgsql;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Experiments;

/// <summary>How an experiment assigns arms.</summary>
public enum ArmAssignmentMode
{
    /// <summary>A user's arm is fixed by a hash over the weights (<see cref="ExperimentAssignment"/>): a randomized comparison.</summary>
    Split,

    /// <summary>Each generation's arm is chosen from the feedback on the arms' portraits (<c>PreferenceModel.ChooseOne</c>).</summary>
    Preference,
}

/// <param name="Client">Only this client application's users are assigned; null for every client's.</param>
public sealed record ExperimentDefinition(string Key, string Description, bool Running, IReadOnlyList<Arm> Arms, string? Client = null,
    ArmAssignmentMode Assignment = ArmAssignmentMode.Split);

/// <summary>An arm's outcomes, each with its 95 % interval, and its differences from the control (the first arm).</summary>
public sealed record ArmOutcome(string Arm, int Weight, ArmSettings Settings, long Generations, Estimate PortraitSuccess, Estimate PredictionSuccess,
    Estimate CostPerPortrait, Estimate LatencySeconds, Estimate IdentityDistance, Estimate FlaggedRate, Estimate FeedbackFor, Comparison? VersusControl);

public sealed record Comparison(string Control, Difference PortraitSuccess, Difference PredictionSuccess, Difference CostPerPortrait,
    Difference LatencySeconds, Difference IdentityDistance, Difference FlaggedRate, Difference FeedbackFor);

public sealed record ExperimentView(string Key, string Description, string? Client, string Assignment, bool Running, double Confidence,
    IReadOnlyList<ArmOutcome> Arms);

public enum ExperimentChange { Done, NotFound, Conflict }

/// <summary>
/// Experiments and their arms (<c>experiments</c>, <c>experiment_arms</c>), changed at run time: a new experiment runs at once (one at a
/// time), an arm is reweighted (0 stops it), an experiment is stopped. Generations record their arm; outcomes are read from their rows.
/// </summary>
public sealed class ExperimentStore(NpgsqlDataSource database)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<ExperimentChange> CreateAsync(ExperimentDefinition experiment, CancellationToken cancellationToken)
    {
        try
        {
            return await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
            {
                if (await connection.Command("""
                        INSERT INTO experiments (key, description, client_id, assignment)
                        SELECT @key, @description, (SELECT id FROM clients WHERE name = @client), @assignment
                        WHERE @client::text IS NULL OR EXISTS (SELECT FROM clients WHERE name = @client)
                        """, new { key = experiment.Key, description = experiment.Description, client = experiment.Client, assignment = Name(experiment.Assignment) },
                        transaction)
                        .ExecuteAsync(cancellationToken) == 0)
                {
                    return false;
                }

                for (var i = 0; i < experiment.Arms.Count; i++)
                {
                    var arm = experiment.Arms[i];
                    await connection.Command("""
                        INSERT INTO experiment_arms (experiment_key, arm, position, weight, settings) VALUES (@key, @arm, @position, @weight, @settings::jsonb)
                        """, new { key = experiment.Key, arm = arm.Name, position = i, weight = arm.Weight, settings = JsonSerializer.Serialize(arm.Settings, Json) },
                        transaction).ExecuteAsync(cancellationToken);
                }

                return true;
            }, cancellationToken)
                ? ExperimentChange.Done
                : ExperimentChange.NotFound;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // The key is taken, or another experiment is running.
            return ExperimentChange.Conflict;
        }
    }

    /// <summary>The running experiment that assigns <paramref name="clientId"/>'s new generations, if any.</summary>
    public async Task<ExperimentDefinition?> RunningAsync(Guid clientId, CancellationToken cancellationToken) =>
        await database.Command("SELECT key FROM experiments WHERE running AND (client_id IS NULL OR client_id = @clientId)", new { clientId })
            .QuerySingleOrDefaultAsync(r => r.Get<string>("key"), cancellationToken) is { } key
            ? await GetAsync(key, cancellationToken)
            : null;

    public async Task<ExperimentDefinition?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var experiment = await database.Command("""
            SELECT e.key, e.description, e.running, e.assignment, c.name FROM experiments e LEFT JOIN clients c ON c.id = e.client_id WHERE e.key = @key
            """, new { key })
            .QuerySingleOrDefaultAsync(r => (Key: r.Get<string>("key"), Description: r.Get<string>("description"), Running: r.Get<bool>("running"),
                Client: r.Text("name"), Assignment: StatusNames.Parse<ArmAssignmentMode>(r.Get<string>("assignment"))), cancellationToken);
        if (experiment.Key is null)
        {
            return null;
        }

        var arms = await database.Command("SELECT arm, weight, settings FROM experiment_arms WHERE experiment_key = @key ORDER BY position", new { key })
            .QueryAsync(r => new Arm(r.Get<string>("arm"), r.Get<int>("weight"), JsonSerializer.Deserialize<ArmSettings>(r.Get<string>("settings"), Json)!),
                cancellationToken);
        return new ExperimentDefinition(experiment.Key, experiment.Description, experiment.Running, arms, experiment.Client, experiment.Assignment);
    }

    /// <summary>
    /// Sets an arm's weight (0 stops it). Assignment is a function of the weights: the users whose place crosses a moved boundary get
    /// another arm for their next generation (a stopped arm's users all do); generations already made keep theirs.
    /// </summary>
    public async Task<bool> SetWeightAsync(string key, string arm, int weight, CancellationToken cancellationToken) =>
        await database.Command("""
            WITH changed AS (UPDATE experiment_arms SET weight = @weight WHERE experiment_key = @key AND arm = @arm RETURNING experiment_key)
            UPDATE experiments SET updated_at = now() WHERE key IN (SELECT experiment_key FROM changed)
            """, new { key, arm, weight }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>Stops an experiment: new generations are in no arm. False when there is no such running experiment.</summary>
    public async Task<bool> StopAsync(string key, CancellationToken cancellationToken) =>
        await database.Command("UPDATE experiments SET running = false, updated_at = now() WHERE key = @key AND running", new { key })
            .ExecuteAsync(cancellationToken) == 1;

    /// <summary>
    /// The experiment's outcomes per arm. Success, cost and latency count every generation it assigned; identity distances and
    /// flags only those not erased (erasure forgets a portrait's verdict), feedback only what is kept.
    /// </summary>
    public async Task<ExperimentView?> ViewAsync(string key, CancellationToken cancellationToken)
    {
        if (await GetAsync(key, cancellationToken) is not { } experiment)
        {
            return null;
        }

        var portraits = (await database.Command("""
            SELECT g.arm, count(DISTINCT g.id) AS generations,
                   count(*) FILTER (WHERE p.status IN ('succeeded', 'failed')) AS ended, count(*) FILTER (WHERE p.status = 'succeeded') AS succeeded,
                   avg(p.cost_usd) FILTER (WHERE p.status IN ('succeeded', 'failed'))::float8 AS cost,
                   stddev_samp(p.cost_usd) FILTER (WHERE p.status IN ('succeeded', 'failed'))::float8 AS cost_sd,
                   avg(p.latency_ms / 1000.0) FILTER (WHERE p.status = 'succeeded')::float8 AS latency,
                   stddev_samp(p.latency_ms / 1000.0) FILTER (WHERE p.status = 'succeeded')::float8 AS latency_sd,
                   count(p.latency_ms) FILTER (WHERE p.status = 'succeeded') AS latency_n,
                   avg(p.identity_distance)::float8 AS identity, stddev_samp(p.identity_distance)::float8 AS identity_sd,
                   count(p.identity_distance) AS identity_n,
                   count(*) FILTER (WHERE p.status = 'succeeded' AND p.identity_flagged) AS flagged,
                   count(*) FILTER (WHERE p.status = 'succeeded' AND g.erased_at IS NULL) AS checked
            FROM generation_jobs g JOIN portraits p ON p.generation_id = g.id
            WHERE g.experiment_key = @key
            GROUP BY g.arm
            """, new { key }).QueryAsync(r => (Arm: r.Get<string>("arm"), Generations: r.Get<long>("generations"), Ended: r.Get<long>("ended"),
                Succeeded: r.Get<long>("succeeded"), Cost: ExperimentStatistics.Mean(r.Maybe<double>("cost"), r.Maybe<double>("cost_sd"), r.Get<long>("ended")),
                Latency: ExperimentStatistics.Mean(r.Maybe<double>("latency"), r.Maybe<double>("latency_sd"), r.Get<long>("latency_n")),
                Identity: ExperimentStatistics.Mean(r.Maybe<double>("identity"), r.Maybe<double>("identity_sd"), r.Get<long>("identity_n")),
                Flagged: r.Get<long>("flagged"), Checked: r.Get<long>("checked")), cancellationToken)).ToDictionary(a => a.Arm);
        var predictions = await CountsAsync("""
            SELECT g.arm, count(*) FILTER (WHERE pr.status = 'succeeded') AS yes, count(*) FILTER (WHERE pr.status IN ('succeeded', 'failed')) AS n
            FROM predictions pr JOIN generation_jobs g ON g.id = pr.generation_id WHERE g.experiment_key = @key GROUP BY g.arm
            """, key, cancellationToken);
        var feedback = await CountsAsync("""
            SELECT arm, count(*) FILTER (WHERE NOT against) AS yes, count(*) AS n FROM (
                SELECT g.arm, bool_or(f.kind = 'dislike') AS against FROM portrait_feedback f JOIN generation_jobs g ON g.id = f.generation_id
                WHERE g.experiment_key = @key GROUP BY g.arm, f.generation_id, f.portrait_index) verdicts
            GROUP BY arm
            """, key, cancellationToken);

        var outcomes = experiment.Arms.Select(arm =>
        {
            var p = portraits.GetValueOrDefault(arm.Name);
            var none = ExperimentStatistics.Mean(null, null, 0);
            var (predictionYes, predictionN) = predictions.GetValueOrDefault(arm.Name);
            var (feedbackYes, feedbackN) = feedback.GetValueOrDefault(arm.Name);
            return new ArmOutcome(arm.Name, arm.Weight, arm.Settings, p.Generations, ExperimentStatistics.Rate(p.Succeeded, p.Ended),
                ExperimentStatistics.Rate(predictionYes, predictionN), p.Cost ?? none, p.Latency ?? none, p.Identity ?? none,
                ExperimentStatistics.Rate(p.Flagged, p.Checked), ExperimentStatistics.Rate(feedbackYes, feedbackN), null);
        }).ToList();
        var control = outcomes.FirstOrDefault();
        return new ExperimentView(experiment.Key, experiment.Description, experiment.Client, Name(experiment.Assignment), experiment.Running,
            ExperimentStatistics.Confidence,
            [.. outcomes.Select((o, i) => i == 0 || control is null ? o : o with { VersusControl = Compare(o, control) })]);
    }

    private static Comparison Compare(ArmOutcome arm, ArmOutcome control) => new(control.Arm,
        ExperimentStatistics.RateDifference(arm.PortraitSuccess, control.PortraitSuccess),
        ExperimentStatistics.RateDifference(arm.PredictionSuccess, control.PredictionSuccess),
        ExperimentStatistics.MeanDifference(arm.CostPerPortrait, control.CostPerPortrait),
        ExperimentStatistics.MeanDifference(arm.LatencySeconds, control.LatencySeconds),
        ExperimentStatistics.MeanDifference(arm.IdentityDistance, control.IdentityDistance),
        ExperimentStatistics.RateDifference(arm.FlaggedRate, control.FlaggedRate),
        ExperimentStatistics.RateDifference(arm.FeedbackFor, control.FeedbackFor));

    public static string Name(ArmAssignmentMode mode) => mode.Name();

    private async Task<Dictionary<string, (long Yes, long N)>> CountsAsync(string sql, string key, CancellationToken cancellationToken) =>
        (await database.Command(sql, new { key }).QueryAsync(r => (Arm: r.Get<string>("arm"), Yes: r.Get<long>("yes"), N: r.Get<long>("n")), cancellationToken))
        .ToDictionary(c => c.Arm, c => (c.Yes, c.N));
}
