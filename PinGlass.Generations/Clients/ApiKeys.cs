using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace PinGlass.Generations.Clients;

/// <summary>
/// PinGlass's API keys: 256 random bits behind a recognisable prefix (so a leaked key is easy to find in logs and repositories). Only the
/// SHA-256 of a key is stored: with that much entropy a fast hash is enough, and a request's lookup is one index probe.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "pgk_";

    /// <summary>The longest bearer token looked up; anything longer is no key of PinGlass's.</summary>
    public const int MaxLength = 200;

    public static string New() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The key's first characters, to tell keys apart in a list: 24 random bits of 256, nothing to guess the rest from.</summary>
    public static string Hint(string key) => $"{key[..Math.Min(key.Length, Prefix.Length + 4)]}…";

    /// <summary>A client application's name: 1–100 characters, none a control character.</summary>
    public static bool IsClientName(string? name) => name is { Length: > 0 and <= 100 } && name.All(c => !char.IsControl(c));
}

/// <summary>The end user a client acts for, named by the client in a header on every call about that user's data.</summary>
public static class EndUsers
{
    public const string Header = "X-PinGlass-User";

    public const int MaxLength = 128;

    /// <summary>A client's own id for its user: 1–128 visible ASCII characters (no spaces or control characters).</summary>
    public static bool IsValid(string? id) => id is { Length: > 0 and <= MaxLength } && id.All(c => c is > ' ' and < '\u007f');
}

/// <summary>Whose a generation is: the client application that started it and that client's end user.</summary>
public sealed record Owner(Guid ClientId, string UserId);

/// <summary>
/// A client application, as an API key authenticated it. An operator client sees the company's figures. <paramref name="RequestsPerMinute"/>:
/// its own limit, where an operator set one.
/// </summary>
public sealed record ApiClient(Guid Id, string Name, bool IsOperator, int? RequestsPerMinute = null);

/// <summary>A client's own limits as an operator set them; null where the <c>Quotas</c> defaults apply.</summary>
public sealed record ClientLimitsOverride(int? RequestsPerMinute, int? GenerationsPerUser, decimal? DailySpendCap)
{
    /// <summary>What is out of the bounds the <c>clients</c> table's checks hold them to (as <see cref="Quotas.QuotaOptions"/> does the defaults).</summary>
    public IEnumerable<(string Field, string Problem)> Problems()
    {
        if (RequestsPerMinute is < 1 or > 1_000_000)
        {
            yield return ("requestsPerMinute", "requests per minute must be 1–1000000");
        }

        if (GenerationsPerUser is < 1 or > 10_000)
        {
            yield return ("generationsPerUser", "generations per user must be 1–10000");
        }

        if (DailySpendCap is < 0 or > 10_000_000m)
        {
            yield return ("dailySpendCap", "the daily spend cap must be 0–10000000 USD");
        }
    }
}

/// <summary>An API key as listed, with its client's own limits: never the key itself, which is shown once, when it is created.</summary>
public sealed record ApiKeyInfo(Guid Id, string Client, bool Operator, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt, ClientLimitsOverride Limits);
