using Npgsql;

namespace PinGlass.Generations.Costs;

/// <summary>
/// The design's cost metrics: what predictions cost in all, how many images they delivered, the average per image, and the split by
/// model and by status (a failed or cancelled prediction costs what it ran).
/// </summary>
public sealed record CostMetrics(
    decimal TotalCost,
    int ImageCount,
    decimal AverageCostPerImage,
    IReadOnlyDictionary<string, decimal> ByModel,
    IReadOnlyDictionary<string, decimal> ByStatus);

/// <summary>One day (UTC) of a cost report.</summary>
public sealed record DayCosts(DateOnly Day, CostMetrics Costs);

/// <summary>Costs of the predictions that ended in [<see cref="From"/>, <see cref="To"/>), in all and day by day.</summary>
public sealed record CostReport(DateTimeOffset From, DateTimeOffset To, CostMetrics Total, IReadOnlyList<DayCosts> Days);

/// <summary>Reads cost metrics from the per-prediction ledger (the <c>predictions</c> table), settled once per prediction.</summary>
public sealed class CostLedger(NpgsqlDataSource database)
{
    /// <summary>One generation's costs.</summary>
    public async Task<CostMetrics> ForGenerationAsync(Guid id, CancellationToken cancellationToken)
    {
        var lines = await ReadAsync("WHERE generation_id = $1 AND completed_at IS NOT NULL", cancellationToken, id);
        return Metrics(lines);
    }

    /// <summary>
    /// The costs of predictions that ended in [<paramref name="from"/>, <paramref name="to"/>), grouped by UTC day: of one client's
    /// generations, or with no <paramref name="clientId"/> the company's.
    /// </summary>
    public async Task<CostReport> ForPeriodAsync(DateTimeOffset from, DateTimeOffset to, Guid? clientId, CancellationToken cancellationToken)
    {
        var lines = clientId is { } client
            ? await ReadAsync("WHERE completed_at >= $1 AND completed_at < $2 AND generation_id IN (SELECT id FROM generation_jobs WHERE client_id = $3)",
                cancellationToken, from.ToUniversalTime(), to.ToUniversalTime(), client)
            : await ReadAsync("WHERE completed_at >= $1 AND completed_at < $2", cancellationToken, from.ToUniversalTime(), to.ToUniversalTime());
        return new CostReport(from, to, Metrics(lines),
            [.. lines.GroupBy(l => l.Day).OrderBy(g => g.Key).Select(g => new DayCosts(g.Key, Metrics([.. g])))]);
    }

    /// <summary>
    /// Writes the daily totals (per model and status) of the predictions that ended on the UTC days from <paramref name="since"/> to
    /// today into <c>cost_daily</c>, replacing what an earlier roll-up wrote for those days: running it again changes nothing.
    /// </summary>
    public async Task<int> RollUpAsync(DateOnly since, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO cost_daily (day, model, status, total_cost, predictions, images)
            SELECT (completed_at AT TIME ZONE 'UTC')::date, model, status, sum(cost_usd), count(*), count(*) FILTER (WHERE status = 'succeeded')
            FROM predictions WHERE completed_at >= $1::date::timestamp AT TIME ZONE 'UTC'
            GROUP BY 1, 2, 3
            ON CONFLICT (day, model, status) DO UPDATE
                SET total_cost = excluded.total_cost, predictions = excluded.predictions, images = excluded.images, rolled_up_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = since });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static CostMetrics Metrics(IReadOnlyList<Line> lines)
    {
        var total = lines.Sum(l => l.Cost);
        var images = lines.Sum(l => l.Images);
        return new CostMetrics(decimal.Round(total, 6), images, images == 0 ? 0 : decimal.Round(total / images, 6),
            lines.GroupBy(l => l.Model).ToDictionary(g => g.Key, g => decimal.Round(g.Sum(l => l.Cost), 6)),
            lines.GroupBy(l => l.Status).ToDictionary(g => g.Key, g => decimal.Round(g.Sum(l => l.Cost), 6)));
    }

    private async Task<List<Line>> ReadAsync(string where, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = database.CreateCommand($"""
            SELECT (completed_at AT TIME ZONE 'UTC')::date, model, status, sum(cost_usd), count(*) FILTER (WHERE status = 'succeeded')
            FROM predictions {where}
            GROUP BY 1, 2, 3
            """);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        var lines = new List<Line>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(new Line(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), reader.GetDecimal(3), (int)reader.GetInt64(4)));
        }

        return lines;
    }

    private sealed record Line(DateOnly Day, string Model, string Status, decimal Cost, int Images);
}
