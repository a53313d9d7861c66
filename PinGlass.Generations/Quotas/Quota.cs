using System.Globalization;

namespace PinGlass.Generations.Quotas;

/// <summary>A client's limits: its own where an operator set them, the <see cref="QuotaOptions"/> defaults otherwise.</summary>
public sealed record ClientLimits(int RequestsPerMinute, int GenerationsPerUser, decimal DailySpendCap);

/// <summary>
/// What a client and one of its users hold now: the user's generations that have not ended, and of the client's generations started
/// this UTC day, what the ended ones spent and the budgets of those still running.
/// </summary>
public sealed record QuotaUsage(int UserRunning, decimal SpentToday, decimal HeldToday);

/// <summary>A limit a new generation (or a retry) would pass: which one, why, and when asking again may succeed.</summary>
public sealed record QuotaExceeded(string Limit, string Detail, TimeSpan RetryAfter);

/// <summary>Whether one more generation of <c>budget</c> fits a client's limits. Pure: <see cref="QuotaGuard"/> reads the usage.</summary>
public static class Quota
{
    public const string GenerationsPerUser = "generations_per_user";
    public const string DailySpendCap = "daily_spend_cap";

    /// <summary>How soon a user at the running-generations limit is asked to try again: about the time a generation's first batch takes.</summary>
    public static readonly TimeSpan RunningRetryAfter = TimeSpan.FromSeconds(30);

    public static QuotaExceeded? Check(QuotaUsage usage, decimal budget, ClientLimits limits, DateTimeOffset now)
    {
        if (usage.UserRunning >= limits.GenerationsPerUser)
        {
            return new(GenerationsPerUser, $"This user has {usage.UserRunning} generation(s) running; at most {limits.GenerationsPerUser} run at once. " +
                                           "Start another when one has ended.", RunningRetryAfter);
        }

        var committed = usage.SpentToday + usage.HeldToday;
        if (committed + budget > limits.DailySpendCap)
        {
            // Generations still running may end under budget and free room today; otherwise only the next UTC day does.
            var tomorrow = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            return new(DailySpendCap, string.Create(CultureInfo.InvariantCulture,
                    $"Today (UTC) this client has committed ${committed:0.00} of its ${limits.DailySpendCap:0.00} daily cap; a budget of ${budget:0.00} does not fit."),
                usage.HeldToday > 0 ? RunningRetryAfter : tomorrow - now);
        }

        return null;
    }

    /// <summary>The start of <paramref name="now"/>'s UTC day: a generation counts against the day it was started on.</summary>
    public static DateTimeOffset DayStart(DateTimeOffset now) => new(now.UtcDateTime.Date, TimeSpan.Zero);
}
