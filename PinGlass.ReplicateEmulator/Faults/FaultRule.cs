namespace PinGlass.ReplicateEmulator.Faults;

/// <summary>What a fault rule does. The wire names are the snake_case forms in <see cref="FaultKinds"/>.</summary>
public enum FaultKind
{
    RateLimit,
    ServerError,
    BillingRequired,
    Hang,
    PredictionFailed,
    ModelDown,
    ColdStart,
    WebhookDrop,
    WebhookDuplicate,
    WebhookDelay,
    WebhookReorder,
    WrongFace,
    NoFace,
    DeliveryError,
    SlowPrediction,
}

public static class FaultKinds
{
    private static readonly Dictionary<string, FaultKind> ByName = Enum.GetValues<FaultKind>()
        .ToDictionary(Name, kind => kind, StringComparer.OrdinalIgnoreCase);

    public static IEnumerable<string> Names => ByName.Keys;

    public static string Name(FaultKind kind) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    public static bool TryParse(string? name, out FaultKind kind) => ByName.TryGetValue(name ?? "", out kind);
}

/// <summary>
/// One fault rule, as configured under <c>ReplicateEmulator:Faults</c> or sent to <c>/_emulator/faults</c>.
/// Durations are Replicate time (divided by the time scale).
/// </summary>
public sealed class FaultRule
{
    /// <summary>One of <see cref="FaultKinds.Names"/>, e.g. <c>rate_limit</c>.</summary>
    public string Kind { get; set; } = "";

    /// <summary><c>owner/name</c> of the model the rule applies to; empty for every model.</summary>
    public string? Model { get; set; }

    /// <summary>Chance that the rule fires each time it is consulted.</summary>
    public double Probability { get; set; } = 1;

    /// <summary>HTTP status of a <c>server_error</c>: 500, 502 or 503.</summary>
    public int? Status { get; set; }

    /// <summary>Error text of a <c>prediction_failed</c>; empty picks one of Replicate's real texts.</summary>
    public string? Error { get; set; }

    /// <summary>
    /// Length of a <c>rate_limit</c> burst, a <c>hang</c>, a <c>webhook_delay</c> or a <c>cold_start</c>; the compute a
    /// <c>slow_prediction</c> adds.
    /// </summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>How many more times the rule may fire; empty for no limit.</summary>
    public int? Count { get; set; }

    /// <summary>
    /// The start of the requests (method and path, e.g. <c>POST /v1/predictions</c>, or <c>POST</c> for creates and cancels) an API
    /// fault applies to; empty for every request about the model. A test that means a create's 5xx says so, and a poll that comes
    /// first does not take it.
    /// </summary>
    public string? Request { get; set; }

    /// <summary>
    /// <c>server_error</c> and <c>hang</c> only: the request is carried out first (a create makes its prediction, which runs and
    /// bills) and then its answer is lost to the 5xx or held back. This is the ambiguous outcome a client must not answer with a
    /// second create.
    /// </summary>
    public bool AfterProcessing { get; set; }

    public IEnumerable<string> Validate()
    {
        if (!FaultKinds.TryParse(Kind, out var kind))
        {
            yield return $"Fault kind '{Kind}' is unknown; use one of: {string.Join(", ", FaultKinds.Names)}.";
        }

        if (Probability is < 0 or > 1 || double.IsNaN(Probability))
        {
            yield return $"Fault probability {Probability} is not between 0 and 1.";
        }

        if (kind == FaultKind.ServerError && Status is not (null or 500 or 502 or 503))
        {
            yield return $"A server_error status must be 500, 502 or 503, not {Status}.";
        }

        if (AfterProcessing && kind is not (FaultKind.ServerError or FaultKind.Hang))
        {
            yield return "after_processing applies to server_error and hang only.";
        }

        if (Duration < TimeSpan.Zero)
        {
            yield return "A fault duration cannot be negative.";
        }

        if (Count < 0)
        {
            yield return "A fault count cannot be negative.";
        }
    }
}
