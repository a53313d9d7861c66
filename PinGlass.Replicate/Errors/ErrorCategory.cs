using System.Text.Json;
using PinGlass.Replicate.Client;

namespace PinGlass.Replicate.Errors;

/// <summary>Why a Replicate call or prediction did not deliver a portrait.</summary>
public enum ErrorCategory
{
    /// <summary>429: throttled.</summary>
    RateLimit,

    /// <summary>No answer in time: an HTTP attempt timed out, or the prediction missed its deadline.</summary>
    Timeout,

    /// <summary>500, 502, 504 and other 5xx answers.</summary>
    ServerError,

    /// <summary>503: the model or API has no capacity now.</summary>
    ModelOverloaded,

    /// <summary>The connection failed or broke before an answer arrived.</summary>
    NetworkError,

    /// <summary>422: the input or version was refused (<c>invalid_fields</c> says which).</summary>
    Validation,

    /// <summary>401: the token is missing or wrong.</summary>
    Authentication,

    /// <summary>402: billing is not set up or the credit is spent.</summary>
    Billing,

    /// <summary>404: the model, version or prediction does not exist.</summary>
    NotFound,

    /// <summary>The prediction failed on the safety checker (NSFW).</summary>
    Safety,

    /// <summary>The prediction ran and failed (out of memory, interrupted, crashed), or was canceled by someone else.</summary>
    ModelError,

    /// <summary>Any other 4xx answer: a request PinGlass should not have sent.</summary>
    BadRequest,
}

/// <summary>What the client and the fallback chain do after an error of a category.</summary>
public enum ErrorDisposition
{
    /// <summary>Sent again to the same provider (within <c>REPLICATE_MAX_RETRIES</c>); when retries run out the chain falls back.</summary>
    Retry,

    /// <summary>Not sent again; the next provider is tried at once.</summary>
    FallBack,

    /// <summary>The generation fails: every provider shares the cause (the account, the token, the request).</summary>
    Final,
}

/// <summary>The one table of error categories. Everything that retries, falls back or stops reads it.</summary>
public static class ErrorPolicy
{
    private static readonly Dictionary<ErrorCategory, ErrorDisposition> Table = new()
    {
        [ErrorCategory.RateLimit] = ErrorDisposition.Retry,
        [ErrorCategory.Timeout] = ErrorDisposition.Retry,
        [ErrorCategory.ServerError] = ErrorDisposition.Retry,
        [ErrorCategory.ModelOverloaded] = ErrorDisposition.Retry,
        [ErrorCategory.NetworkError] = ErrorDisposition.Retry,
        // The input was mapped for one model's schema; another model has another schema.
        [ErrorCategory.Validation] = ErrorDisposition.FallBack,
        [ErrorCategory.Authentication] = ErrorDisposition.Final,
        [ErrorCategory.Billing] = ErrorDisposition.Final,
        [ErrorCategory.NotFound] = ErrorDisposition.FallBack,
        // Safety checkers differ between models; another one may accept the same prompt and face.
        [ErrorCategory.Safety] = ErrorDisposition.FallBack,
        [ErrorCategory.ModelError] = ErrorDisposition.FallBack,
        [ErrorCategory.BadRequest] = ErrorDisposition.Final,
    };

    public static ErrorDisposition DispositionOf(ErrorCategory category) => Table[category];

    public static bool IsRetryable(ErrorCategory category) => Table[category] == ErrorDisposition.Retry;

    /// <summary>
    /// Categories that say something about the model's health and so count for its circuit breaker. A throttle does not: Replicate's
    /// create limit is the account's, and it asks for a wait, not for skipping a model.
    /// </summary>
    public static bool CountsAgainstModel(ErrorCategory category) =>
        category != ErrorCategory.RateLimit && (Table[category] == ErrorDisposition.Retry || category == ErrorCategory.ModelError);

    public static ErrorCategory FromStatus(int status) => status switch
    {
        401 => ErrorCategory.Authentication,
        402 => ErrorCategory.Billing,
        404 => ErrorCategory.NotFound,
        408 => ErrorCategory.Timeout,
        422 => ErrorCategory.Validation,
        429 => ErrorCategory.RateLimit,
        503 => ErrorCategory.ModelOverloaded,
        >= 500 => ErrorCategory.ServerError,
        _ => ErrorCategory.BadRequest,
    };

    /// <summary>
    /// How a prediction that ended turned out: no category when it delivered an output, otherwise why not. The one place a prediction's
    /// end is judged.
    /// </summary>
    public static (ErrorCategory? Category, string? Error) Classify(Prediction prediction) => prediction.Status switch
    {
        PredictionStatus.Succeeded when prediction.OutputUrls.Count > 0 => (null, null),
        PredictionStatus.Succeeded => (ErrorCategory.ModelError, "The prediction succeeded without an output."),
        PredictionStatus.Failed => (FromPredictionError(prediction.Error), prediction.Error ?? "The prediction failed."),
        // Replicate's own Cancel-After deadline (aborted before it started) or someone else's cancel.
        PredictionStatus.Aborted => (ErrorCategory.Timeout, "The prediction never started before its deadline."),
        _ => (ErrorCategory.ModelError, $"The prediction ended {prediction.Status}."),
    };

    /// <summary>The category of a failed prediction's <c>error</c> text.</summary>
    public static ErrorCategory FromPredictionError(string? error) =>
        error is not null && (error.Contains("NSFW", StringComparison.OrdinalIgnoreCase)
                              || error.Contains("safety", StringComparison.OrdinalIgnoreCase)
                              || error.Contains("sensitive", StringComparison.OrdinalIgnoreCase))
            ? ErrorCategory.Safety
            : ErrorCategory.ModelError;
}

/// <summary>Error categories as the database and the API name them: snake_case.</summary>
public static class ErrorCategoryNames
{
    private static readonly Dictionary<string, ErrorCategory> ByName =
        Enum.GetValues<ErrorCategory>().ToDictionary(c => c.Name(), StringComparer.Ordinal);

    public static string Name(this ErrorCategory category) => JsonNamingPolicy.SnakeCaseLower.ConvertName(category.ToString());

    /// <summary>The category a stored name stands for; null for a name that is not one (a portrait's own reasons, such as deadline).</summary>
    public static ErrorCategory? Parse(string? name) => name is not null && ByName.TryGetValue(name, out var category) ? category : null;
}
