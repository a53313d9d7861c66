using System.Globalization;

namespace PinGlass.Generations.Quotas;

/// <summary>A client's limits: its own where an operator set them, the <see cref="QuotaOptions"/> defaults otherwise.</summary>
public sealed record ClientLimits(int GenerationsPerUser, decimal DailySpendCap);

/// <summary>
/// What a client and one of its users hold now: the user's generations that have not ended; what the client's generations that ended
/// and were started (or last run again) this UTC day cost, reservations still out included; and what those still running may cost,
/// each at least its whole budget, whatever day it started.
/// </summary>
public sealed record QuotaUsage(int UserRunning, decimal SpentToday, decimal Held);

/// <summary>
/// A limit a new generation (or a retry) would pass: which one, why, and when asking again may succeed; <paramref name="RetryAfter"/>
/// null when it never can (a budget over the whole daily cap).
/// </summary>
public sealed record QuotaExceeded(string Limit, string Detail, TimeSpan? RetryAfter);

/// <summary>Whether one more generation of <c>budget</c> fits a client's limits. Pure: <see cref="QuotaGuard"/> reads the usage.</summary>
public static class Quota
{
    public const string GenerationsPerUser = "generations_per_user";
    public const string DailySpendCap = "daily_spend_cap";
    public const string EventStreams = "event_streams";

    /// <summary>How soon to ask again when a generation running now is what stands in the way: about the time one takes.</summary>
    public static readonly TimeSpan RunningRetryAfter = TimeSpan.FromSeconds(30);

    public static QuotaExceeded? Check(QuotaUsage usage, decimal budget, ClientLimits limits, DateTimeOffset now)
    {
        if (usage.UserRunning >= limits.GenerationsPerUser)
        {
            return new(GenerationsPerUser, $"This user has {usage.UserRunning} generation(s) running; at most {limits.GenerationsPerUser} run at once.",
                RunningRetryAfter);
        }

        if (budget > limits.DailySpendCap)
        {
            return new(DailySpendCap, Usd($"A budget of ${budget:0.00} is over this client's daily cap of ${limits.DailySpendCap:0.00}."), null);
        }

        var committed = usage.SpentToday + usage.Held;
        if (committed + budget <= limits.DailySpendCap)
        {
            return null;
        }

        // Generations still running may end under budget and free room today; what was spent only frees at the next UTC day.
        var tomorrow = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        return new(DailySpendCap,
            Usd($"Today (UTC) this client has committed ${committed:0.00} of its ${limits.DailySpendCap:0.00} daily cap; a budget of ${budget:0.00} does not fit."),
            usage.SpentToday + budget <= limits.DailySpendCap ? RunningRetryAfter : tomorrow - now);
    }

    private static string Usd(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
