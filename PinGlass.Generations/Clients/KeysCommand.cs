using System.Globalization;

namespace PinGlass.Generations.Clients;

/// <summary>
/// The operators' verb for client applications' keys, run against the database the Api uses (<c>ConnectionStrings__pinglass</c>):
/// <c>dotnet run --project PinGlass.Api -- keys create &lt;client&gt; [--operator]</c>, <c>keys list [&lt;client&gt;]</c>,
/// <c>keys revoke &lt;key id&gt;</c>, <c>keys limits &lt;client&gt; [--requests-per-minute N] [--generations-per-user N] [--daily-spend-cap USD]</c>.
/// A new key is printed once; only its hash is stored.
/// </summary>
public sealed record KeysCommand(string Verb, string? Argument = null, bool Operator = false, ClientLimitsOverride? Limits = null)
{
    public const string Usage = """
        usage: keys create <client> [--operator]   a new key for the client (created if new); printed once
               keys list [<client>]                 every key, or one client's: id, client, hint, created, last used, revoked, limits
               keys revoke <key id>                 the key authenticates nothing from now on
               keys limits <client> [--requests-per-minute N] [--generations-per-user N] [--daily-spend-cap USD]
                                                    the client's own limits; any not given is the Quotas default again
        """;

    /// <summary>The command the arguments ask for; null when they are not a keys command (the Api runs).</summary>
    public static KeysCommand? Parse(string[] args) => args switch
    {
        ["keys", "create", var client] => new("create", client),
        ["keys", "create", var client, "--operator"] => new("create", client, Operator: true),
        ["keys", "list"] => new("list"),
        ["keys", "list", var client] => new("list", client),
        ["keys", "revoke", var id] => new("revoke", id),
        ["keys", "limits", var client, .. var limits] when ParseLimits(limits) is { } parsed => new("limits", client, Limits: parsed),
        ["keys", ..] => new("help"),
        _ => null,
    };

    /// <returns>The process's exit code: 0 done, 1 nothing to do (no such key), 2 a usage error.</returns>
    public async Task<int> RunAsync(ClientStore clients, TextWriter output, CancellationToken cancellationToken)
    {
        switch (Verb)
        {
            case "create" when ApiKeys.IsClientName(Argument):
                var (info, key) = await clients.CreateKeyAsync(Argument!, Operator, cancellationToken);
                await output.WriteLineAsync($"Key {info.Id} for client '{info.Client}'{(info.Operator ? " (operator)" : "")}; shown this once:");
                await output.WriteLineAsync(key);
                return 0;
            case "list":
                foreach (var listed in await clients.KeysAsync(Argument, cancellationToken))
                {
                    var state = listed.RevokedAt is { } revoked ? $"revoked {Time(revoked)}" : "active";
                    await output.WriteLineAsync(string.Join("  ", listed.Id, listed.Client + (listed.Operator ? " (operator)" : ""), listed.Hint,
                        $"created {Time(listed.CreatedAt)}", $"last used {Time(listed.LastUsedAt)}", state, $"limits: {Describe(listed.Limits)}"));
                }

                return 0;
            case "revoke" when Guid.TryParse(Argument, CultureInfo.InvariantCulture, out var id):
                var done = await clients.RevokeAsync(id, cancellationToken);
                await output.WriteLineAsync(done ? $"Key {id} revoked." : $"No active key {id}.");
                return done ? 0 : 1;
            case "limits" when Limits is { } limits:
                var set = await clients.SetLimitsAsync(Argument!, limits, cancellationToken);
                await output.WriteLineAsync(set ? $"Client '{Argument}': {Describe(limits)}." : $"No client '{Argument}'.");
                return set ? 0 : 1;
            default:
                await output.WriteLineAsync(Usage);
                return 2;
        }
    }

    /// <summary>The limits a <c>limits</c> verb gives (each at most once, positive); null when they are malformed.</summary>
    private static ClientLimitsOverride? ParseLimits(ReadOnlySpan<string> args)
    {
        var limits = new ClientLimitsOverride(null, null, null);
        for (; args.Length > 0; args = args[2..])
        {
            if (args.Length < 2)
            {
                return null;
            }

            var value = args[1];
            switch (args[0])
            {
                case "--requests-per-minute" when limits.RequestsPerMinute is null && Whole(value) is { } perMinute:
                    limits = limits with { RequestsPerMinute = perMinute };
                    break;
                case "--generations-per-user" when limits.GenerationsPerUser is null && Whole(value) is { } perUser:
                    limits = limits with { GenerationsPerUser = perUser };
                    break;
                case "--daily-spend-cap" when limits.DailySpendCap is null
                                              && decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cap):
                    limits = limits with { DailySpendCap = cap };
                    break;
                default:
                    return null;
            }
        }

        return limits.Problems().Any() ? null : limits;
    }

    private static int? Whole(string value) => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string Describe(ClientLimitsOverride limits) =>
        $"{Describe(limits.RequestsPerMinute, "requests a minute")}, {Describe(limits.GenerationsPerUser, "generations running per user")}, " +
        Describe(limits.DailySpendCap?.ToString("0.00", CultureInfo.InvariantCulture), "USD a day");

    private static string Describe(object? limit, string what) => $"{limit?.ToString() ?? "default"} {what}";

    private static string Time(DateTimeOffset? time) => time?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "never";
}
