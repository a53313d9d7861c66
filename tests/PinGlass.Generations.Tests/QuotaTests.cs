using PinGlass.Generations.Clients;
using PinGlass.Generations.Quotas;

namespace PinGlass.Generations.Tests;

public sealed class QuotaTests
{
    private static readonly ClientLimits Limits = new(GenerationsPerUser: 2, DailySpendCap: 10m);
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_generation_that_fits_every_limit_passes()
    {
        Assert.Null(Quota.Check(new QuotaUsage(UserRunning: 1, SpentToday: 3m, Held: 2m), 5m, Limits, Now));
    }

    [Fact]
    public void A_user_at_the_running_limit_is_told_to_come_back_when_one_has_ended()
    {
        var exceeded = Quota.Check(new QuotaUsage(2, 0m, 0m), 1m, Limits, Now);

        Assert.Equal((Quota.GenerationsPerUser, Quota.RunningRetryAfter), (exceeded?.Limit, exceeded?.RetryAfter));
        Assert.Contains("2 generation(s) running", exceeded!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void What_was_spent_and_the_budgets_still_running_count_against_the_daily_cap()
    {
        var exceeded = Quota.Check(new QuotaUsage(0, 3m, 2.01m), 5m, Limits, Now);

        // Running generations may end under budget and free room before the day ends.
        Assert.Equal((Quota.DailySpendCap, Quota.RunningRetryAfter), (exceeded?.Limit, exceeded?.RetryAfter));
        Assert.Contains("$5.01 of its $10.00", exceeded!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_day_spent_to_its_cap_opens_again_at_the_next_utc_midnight()
    {
        var exceeded = Quota.Check(new QuotaUsage(0, 9.5m, 0m), 1m, Limits, Now);

        Assert.Equal((Quota.DailySpendCap, TimeSpan.FromHours(4)), (exceeded?.Limit, exceeded?.RetryAfter));
    }

    [Fact]
    public void A_budget_that_reaches_the_cap_exactly_fits_and_a_zero_cap_admits_nothing()
    {
        Assert.Null(Quota.Check(new QuotaUsage(0, 4m, 1m), 5m, Limits, Now));
        Assert.NotNull(Quota.Check(new QuotaUsage(0, 0m, 0m), 0.01m, Limits with { DailySpendCap = 0m }, Now));
    }

    [Fact]
    public void The_running_limit_is_checked_before_the_cap()
    {
        Assert.Equal(Quota.GenerationsPerUser, Quota.Check(new QuotaUsage(5, 100m, 100m), 1m, Limits, Now)?.Limit);
    }

    [Fact]
    public void A_budget_over_the_whole_cap_never_fits_and_is_not_told_to_wait()
    {
        var exceeded = Quota.Check(new QuotaUsage(0, 0m, 0m), 10.01m, Limits, Now);

        Assert.Equal((Quota.DailySpendCap, (TimeSpan?)null), (exceeded?.Limit, exceeded?.RetryAfter));
    }

    [Fact]
    public void When_running_generations_ending_could_not_make_room_the_wait_is_until_the_next_day()
    {
        // $8 spent: even if the $1 still running spent nothing, $3 would not fit today.
        var exceeded = Quota.Check(new QuotaUsage(0, 8m, 1m), 3m, Limits, Now);

        Assert.Equal(TimeSpan.FromHours(4), exceeded?.RetryAfter);
    }

    [Theory]
    [InlineData(new[] { "keys", "limits", "acme" }, null, null, null)]
    [InlineData(new[] { "keys", "limits", "acme", "--requests-per-minute", "120" }, 120, null, null)]
    [InlineData(new[] { "keys", "limits", "acme", "--daily-spend-cap", "12.5", "--generations-per-user", "3" }, null, 3, "12.5")]
    public void The_limits_verb_sets_what_it_is_given_and_leaves_the_rest_to_the_defaults(string[] args, int? perMinute, int? perUser, string? cap)
    {
        var command = KeysCommand.Parse(args);

        Assert.Equal(("limits", "acme"), (command?.Verb, command?.Argument));
        Assert.Equal(new ClientLimitsOverride(perMinute, perUser, cap is null ? null : decimal.Parse(cap, System.Globalization.CultureInfo.InvariantCulture)),
            command!.Limits);
    }

    [Theory]
    [InlineData("--requests-per-minute", "0")]
    [InlineData("--requests-per-minute", "-5")]
    [InlineData("--generations-per-user", "two")]
    [InlineData("--daily-spend-cap", "-1")]
    [InlineData("--daily-spend-cap", "1e9")]
    [InlineData("--daily-spend-cap", "10000000.01")]
    [InlineData("--requests-per-minute", "1000001")]
    [InlineData("--generations-per-user", "10001")]
    [InlineData("--burst", "5")]
    [InlineData("--requests-per-minute", null)]
    public void A_malformed_limit_is_the_usage_not_a_change(string flag, string? value)
    {
        string[] args = value is null ? ["keys", "limits", "acme", flag] : ["keys", "limits", "acme", flag, value];

        Assert.Equal("help", KeysCommand.Parse(args)?.Verb);
    }

    [Fact]
    public void A_limit_given_twice_is_the_usage()
    {
        Assert.Equal("help", KeysCommand.Parse(["keys", "limits", "acme", "--requests-per-minute", "5", "--requests-per-minute", "6"])?.Verb);
    }
}
