using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Generations.Quotas;

namespace PinGlass.Api.Quotas;

/// <summary>A limit reached is a 429 problem naming the limit, with <c>Retry-After</c>: when asking again may succeed.</summary>
public static class QuotaProblems
{
    public static ProblemHttpResult TooMany(HttpResponse response, QuotaExceeded exceeded)
    {
        response.Headers.RetryAfter = RetryAfterSeconds(exceeded.RetryAfter);
        return TypedResults.Problem(title: $"Limit reached: {exceeded.Limit}", detail: exceeded.Detail, statusCode: StatusCodes.Status429TooManyRequests,
            extensions: new Dictionary<string, object?> { ["limit"] = exceeded.Limit });
    }

    /// <summary>Whole seconds, rounded up: a client that waits exactly this long is not turned away again for a fraction of a second.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
