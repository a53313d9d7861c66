using System.Globalization;

namespace PinGlass.Generations.Clients;

/// <summary>
/// The operators' verb for client applications' keys, run against the database the Api uses (<c>ConnectionStrings__pinglass</c>):
/// <c>dotnet run --project PinGlass.Api -- keys create &lt;client&gt; [--operator]</c>, <c>keys list [&lt;client&gt;]</c>,
/// <c>keys revoke &lt;key id&gt;</c>. A new key is printed once; only its hash is stored.
/// </summary>
public sealed record KeysCommand(string Verb, string? Argument = null, bool Operator = false)
{
    public const string Usage = """
        usage: keys create <client> [--operator]   a new key for the client (created if new); printed once
               keys list [<client>]                 every key, or one client's: id, client, hint, created, last used, revoked
               keys revoke <key id>                 the key authenticates nothing from now on
        """;

    /// <summary>The command the arguments ask for; null when they are not a keys command (the Api runs).</summary>
    public static KeysCommand? Parse(string[] args) => args switch
    {
        ["keys", "create", var client] => new("create", client),
        ["keys", "create", var client, "--operator"] => new("create", client, Operator: true),
        ["keys", "list"] => new("list"),
        ["keys", "list", var client] => new("list", client),
        ["keys", "revoke", var id] => new("revoke", id),
        ["keys", ..] => new("help"),
        _ => null,
    };

    /// <returns>The process's exit code: 0 done, 1 nothing to do (no such key), 2 a usage error.</returns>
    public async Task<int> RunAsync(ClientStore clients, TextWriter output, CancellationToken cancellationToken)
    {
        switch (Verb)
        {
            case "create" when Argument is { Length: > 0 and <= 100 } client && client.All(c => !char.IsControl(c)):
                var (info, key) = await clients.CreateKeyAsync(client, Operator, cancellationToken);
                await output.WriteLineAsync($"Key {info.Id} for client '{info.Client}'{(info.Operator ? " (operator)" : "")}; shown this once:");
                await output.WriteLineAsync(key);
                return 0;
            case "list":
                foreach (var listed in await clients.KeysAsync(Argument, cancellationToken))
                {
                    var state = listed.RevokedAt is { } revoked ? $"revoked {Time(revoked)}" : "active";
                    await output.WriteLineAsync(string.Join("  ", listed.Id, listed.Client + (listed.Operator ? " (operator)" : ""), listed.Hint,
                        $"created {Time(listed.CreatedAt)}", $"last used {Time(listed.LastUsedAt)}", state));
                }

                return 0;
            case "revoke" when Guid.TryParse(Argument, CultureInfo.InvariantCulture, out var id):
                var done = await clients.RevokeAsync(id, cancellationToken);
                await output.WriteLineAsync(done ? $"Key {id} revoked." : $"No active key {id}.");
                return done ? 0 : 1;
            default:
                await output.WriteLineAsync(Usage);
                return 2;
        }
    }

    private static string Time(DateTimeOffset? time) => time?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "never";
}
