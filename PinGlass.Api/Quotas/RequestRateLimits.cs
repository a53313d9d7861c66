using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using PinGlass.Api.Clients;
using PinGlass.Generations.Quotas;
using RedisRateLimiting;
using StackExchange.Redis;

namespace PinGlass.Api.Quotas;

/// <summary>
/// Requests per minute per client application: one fixed window per client in Redis, so every Api replica counts against the same
/// limit. Requests no key authenticated (Replicate's webhooks, health, a 401) are not counted against any client.
/// </summary>
public static class RequestRateLimits
{
    public const string Limit = "requests_per_minute";

    public static IServiceCollection AddRequestRateLimits(this IServiceCollection services) => services.AddRateLimiter(limiter =>
    {
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (context.User.FindFirstValue(ClaimTypes.NameIdentifier) is not { } client)
            {
                return RateLimitPartition.GetNoLimiter("unauthenticated");
            }

            var permits = int.TryParse(context.User.FindFirstValue(ApiKeyAuthenticationHandler.RequestsPerMinuteClaim), CultureInfo.InvariantCulture, out var own)
                ? own
                : context.RequestServices.GetRequiredService<IOptions<QuotaOptions>>().Value.RequestsPerMinute;
            // Singletons, resolved now: the limiter outlives this request's scope.
            var redis = context.RequestServices.GetRequiredService<IConnectionMultiplexer>();
            var logger = context.RequestServices.GetRequiredService<ILogger<FailOpenRateLimiter>>();
            // The limit is part of the key: an operator's new limit takes effect at once, in a window of its own.
            return RateLimitPartition.Get($"pinglass:requests:{client}:{permits}", key => new FailOpenRateLimiter(
                new RedisFixedWindowRateLimiter<string>(key, new RedisFixedWindowRateLimiterOptions
                {
                    ConnectionMultiplexerFactory = () => redis,
                    PermitLimit = permits,
                    Window = TimeSpan.FromMinutes(1),
                }),
                redis, logger));
        });
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.OnRejected = async (context, cancellationToken) =>
        {
            // RedisRateLimiting's lease says how long until the window ends, in whole seconds, under a metadata name of its own.
            var wait = context.Lease.TryGetMetadata(RateLimitMetadataName.RetryAfter, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(1);
            var result = QuotaProblems.Refused(context.HttpContext.Response,
                new QuotaExceeded(Limit, "This client application has made as many requests as it may this minute.", wait));
            await result.ExecuteAsync(context.HttpContext);
        };
    });
}
