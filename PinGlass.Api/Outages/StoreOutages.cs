using Microsoft.AspNetCore.Diagnostics;
using PinGlass.Platform.Storage;

namespace PinGlass.Api.Outages;

/// <summary>
/// PostgreSQL or Redis unreachable: the call is answered 503 with Retry-After, as a problem, not 500, because the same call works once
/// they are back (a client app retries a 503 and reports a 500). Each is logged as a warning: the framework logs only what no handler took.
/// </summary>
public sealed partial class StoreOutages(IProblemDetailsService problems, ILogger<StoreOutages> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!StoreOutage.Is(exception))
        {
            return false;
        }

        LogOutage(logger, httpContext.Request.Method, httpContext.Request.Path, exception);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: a store cannot be reached")]
    public static partial void LogOutage(ILogger logger, string method, PathString path, Exception exception);
}
