using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using StackExchange.Redis;

namespace PinGlass.Api.Outages;

/// <summary>
/// PostgreSQL or Redis unreachable: the call is answered 503 with Retry-After, as a problem, not 500, because the same call works once
/// they are back (a client app retries a 503 and reports a 500).
/// </summary>
public sealed class StoreOutages(IProblemDetailsService problems) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    /// <summary>A store that cannot be reached or answered too late, rather than a statement or a value it refused.</summary>
    public static bool IsOutage(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } or RedisConnectionException or RedisTimeoutException
        || exception is NpgsqlException { InnerException: { } inner } && IsOutage(inner);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsOutage(exception))
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        await WriteAsync(httpContext, problems, "PinGlass's stores cannot be reached for the moment", exception);
        return true;
    }

    /// <summary>The 503 problem, with Retry-After, for <paramref name="context"/>'s response (its status already set).</summary>
    public static async Task WriteAsync(HttpContext context, IProblemDetailsService problems, string title, Exception exception)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = title,
                Detail = "Send the call again after the Retry-After delay.",
            },
        });
    }
}
