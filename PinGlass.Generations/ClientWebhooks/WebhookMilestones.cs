using System.Text.Json;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>
/// What a generation's callback is told: it started, a quarter, half and three quarters of its portraits ended, it ended. Each is
/// sent once per generation, whatever the order its changes commit in; once it has ended, only its end is still sent. A generation
/// run again (a portrait retried on request) ends again: each run's end is its own milestone (<c>ended</c>, <c>ended-2</c>, …).
/// </summary>
public static class WebhookMilestones
{
    public const string Started = "started";
    public const string Ended = "ended";

    private static readonly int[] Quarters = [25, 50, 75];

    /// <summary>The milestones a generation in this state has reached (some may have been recorded already).</summary>
    public static IReadOnlyList<string> Reached(GenerationStatus status, int completed, int total, int runs = 1)
    {
        if (status.IsTerminal())
        {
            return [runs <= 1 ? Ended : $"{Ended}-{runs}"];
        }

        if (status != GenerationStatus.Running)
        {
            return [];
        }

        return [Started, .. Quarters.Where(q => total > 0 && completed * 100 >= q * total).Select(q => $"portraits-{q}")];
    }

    /// <summary>The event's type: <c>generation.started</c>, <c>generation.progress</c> or <c>generation.ended</c>.</summary>
    public static string EventType(string milestone) => milestone switch
    {
        Started => "generation.started",
        _ when milestone.StartsWith(Ended, StringComparison.Ordinal) => "generation.ended",
        _ => "generation.progress",
    };

    /// <summary>
    /// The body sent: Standard Webhooks' shape (<c>type</c>, <c>timestamp</c>, <c>data</c>), the data the generation's state when the
    /// milestone was reached. <c>version</c> orders events a receiver gets out of order (a retried one after a later one).
    /// </summary>
    public static string Body(string milestone, GenerationRow row, string? user, DateTimeOffset now) => JsonSerializer.Serialize(new
    {
        type = EventType(milestone),
        timestamp = now,
        data = new
        {
            id = row.Id,
            user,
            milestone,
            status = row.Status.Name(),
            completed = row.Completed,
            total = row.Total,
            successful = row.Successful,
            failed = row.Failed,
            costSoFar = decimal.Round(row.Spent, 4),
            version = row.Version,
            completedAt = row.CompletedAt,
        },
    }, JsonSerializerOptions.Web);
}
