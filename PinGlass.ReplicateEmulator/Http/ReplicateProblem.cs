using System.Text.Json.Serialization;

namespace PinGlass.ReplicateEmulator.Http;

/// <summary>One entry of a 422's <c>invalid_fields</c>, in the shape and wording Replicate's validator uses.</summary>
public sealed record InvalidField(string Type, string Field, string Description);

/// <summary>A Replicate error body, served as <c>application/problem+json</c> with exactly the fields Replicate sends.</summary>
public sealed record ReplicateProblem(
    [property: JsonPropertyOrder(1)] string? Title,
    [property: JsonPropertyOrder(2)] string Detail,
    [property: JsonPropertyOrder(3)] int? Status,
    [property: JsonPropertyOrder(4)] IReadOnlyList<InvalidField>? InvalidFields = null);

/// <summary>The typed result of every Replicate error.</summary>
public sealed class ReplicateProblemResult(int statusCode, ReplicateProblem problem)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ReplicateProblem>, IContentTypeHttpResult
{
    public const string ContentType = "application/problem+json";

    public int StatusCode => statusCode;

    int? IStatusCodeHttpResult.StatusCode => statusCode;

    public ReplicateProblem Value => problem;

    object IValueHttpResult.Value => problem;

    string IContentTypeHttpResult.ContentType => ContentType;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        return httpContext.Response.WriteAsJsonAsync(problem, ReplicateJson.Options, ContentType);
    }
}

/// <summary>The error bodies Replicate returns, verbatim where they were observed (replicate-api.md §4.1).</summary>
public static class ReplicateErrors
{
    public static ReplicateProblemResult MissingToken() =>
        new(401, new("Unauthenticated", "You did not pass an authentication token", 401));

    public static ReplicateProblemResult InvalidToken() =>
        new(401, new("Unauthenticated", "You did not pass a valid authentication token", 401));

    public static ReplicateProblemResult BillingRequired() => new(402, new("Billing required",
        "You need to set up billing to run this model. Go to https://replicate.com/account/billing#billing to set it up. " +
        "If you have recently set up billing, please wait a few minutes before trying again.", 402));

    public static ReplicateProblemResult NotFound() => new(404, new(null, "The requested resource could not be found.", 404));

    public static ReplicateProblemResult FileTooLarge() => new(413, new(null, "Files must be less than 100MB in size", null));

    public static ReplicateProblemResult InvalidVersion() => new(422, new("Invalid version or not permitted",
        "The specified version does not exist (or perhaps you don't have permission to use it?)", 422));

    public static ReplicateProblemResult ValidationFailed(IReadOnlyList<InvalidField> fields) => new(422, new("Input validation failed",
        string.Concat(fields.Select(f => f.Field == "(root)" ? $"- {f.Description}\n" : $"- {f.Field}: {f.Description}\n")), 422, fields));

    public static ReplicateProblemResult BadRequest(string detail) => new(400, new("Bad request", detail, 400));

    /// <summary>
    /// A 429 says its wait in its text alone, as Replicate's rate-limit docs show it: whether Replicate also sends a
    /// <c>Retry-After</c> header is not documented, so a client must not need one (replicate-api.md §4.2).
    /// </summary>
    public static ReplicateProblemResult Throttled(TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        return new(429, new(null, $"Request was throttled. Your rate limit resets in ~{seconds}s.", 429));
    }

    public static ReplicateProblemResult ServerError(int status) => status switch
    {
        502 => new(502, new("Bad Gateway", "The server received an invalid response from an upstream server.", 502)),
        503 => new(503, new("Service Unavailable", "The service is temporarily unavailable. Please try again later.", 503)),
        _ => new(500, new("Internal Server Error", "An unexpected error occurred.", 500)),
    };
}
