using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Generations.Quotas;

namespace PinGlass.Api.Quotas;

/// <summary>
/// A limit reached is a 429 problem naming the limit, with <c>Retry-After</c>: when asking again may succeed. A request no wait can
/// make fit (a budget over the whole daily cap) is a 422 problem naming the limit.
/// </summary>
public static class QuotaProblems
{
    public static ProblemHttpResult Refused(HttpResponse response, QuotaExceeded exceeded)
    {
        if (exceeded.RetryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return TypedResults.Problem(title: $"Limit reached: {exceeded.Limit}", detail: exceeded.Detail,
            statusCode: exceeded.RetryAfter is null ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status429TooManyRequests,
            extensions: new Dictionary<string, object?> { ["limit"] = exceeded.Limit });
    }
}
