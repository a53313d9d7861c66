using System.Globalization;
using System.Text.RegularExpressions;

namespace PinGlass.ReplicateEmulator.Predictions;

/// <summary>The two request headers of prediction creation: <c>Prefer: wait[=n]</c> and <c>Cancel-After</c>.</summary>
public static partial class RequestHeaders
{
    /// <summary>Replicate's minimum <c>Cancel-After</c>.</summary>
    public static readonly TimeSpan MinimumCancelAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Parses <c>Prefer</c>: <c>wait</c> holds up to 60 s, <c>wait=n</c> up to n s (the JavaScript client sends any n,
    /// so it is clamped to 1–60). Returns null when the header asks for no wait.
    /// </summary>
    public static (TimeSpan Hold, string Applied)? ParsePrefer(string? prefer)
    {
        var match = PreferWait().Match(prefer ?? "");
        if (!match.Success)
        {
            return null;
        }

        if (!match.Groups[1].Success)
        {
            return (TimeSpan.FromSeconds(60), "wait");
        }

        var seconds = Math.Clamp(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 1, 60);
        return (TimeSpan.FromSeconds(seconds), $"wait={seconds}");
    }

    /// <summary>Parses <c>Cancel-After</c>: <c>30s</c>, <c>5m</c>, <c>1h30m45s</c>, or a bare number of seconds.</summary>
    public static bool TryParseCancelAfter(string value, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bare))
        {
            duration = TimeSpan.FromSeconds(bare);
            return true;
        }

        var match = Duration().Match(value.Trim());
        if (!match.Success || value.Trim().Length == 0)
        {
            return false;
        }

        double Part(int group) => match.Groups[group].Success ? double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        duration = TimeSpan.FromHours(Part(1)) + TimeSpan.FromMinutes(Part(2)) + TimeSpan.FromSeconds(Part(3));
        return true;
    }

    [GeneratedRegex(@"^\s*wait(?:\s*=\s*(\d{1,4}))?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex PreferWait();

    [GeneratedRegex(@"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")]
    private static partial Regex Duration();
}
