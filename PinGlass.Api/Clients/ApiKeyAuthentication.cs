using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using PinGlass.Api.Outages;
using PinGlass.Generations.Clients;
using PinGlass.Platform.Storage;

namespace PinGlass.Api.Clients;

/// <summary>
/// Authenticates a client application by its API key (<c>Authorization: Bearer &lt;key&gt;</c>). A request without one, or with a key
/// that is unknown or revoked, is answered 401 with a problem (and <c>WWW-Authenticate: Bearer</c>) wherever authorization is required.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ClientStore clients, IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string OperatorRole = "operator";

    /// <summary>The client's own requests-per-minute limit, where an operator set one (the rate limiter's default otherwise).</summary>
    public const string RequestsPerMinuteClaim = "pinglass:requests_per_minute";

    private const string Bearer = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? authorization = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(authorization))
        {
            return AuthenticateResult.NoResult();
        }

        if (!authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <API key>'.");
        }

        ApiClient? client;
        try
        {
            client = await clients.AuthenticateAsync(authorization[Bearer.Length..].Trim(), Context.RequestAborted);
        }
        catch (Exception e) when (StoreOutage.Is(e))
        {
            // Not thrown: endpoints open to anyone (health) still answer; the others are a 503 from the challenge, not a 401.
            StoreOutages.LogOutage(Logger, Request.Method, Request.Path, e);
            return AuthenticateResult.Fail(new KeyStoreUnavailableException(e));
        }

        if (client is null)
        {
            return AuthenticateResult.Fail("The API key is unknown or has been revoked.");
        }

        List<Claim> claims = [new(ClaimTypes.NameIdentifier, client.Id.ToString()), new(ClaimTypes.Name, client.Name)];
        if (client.IsOperator)
        {
            claims.Add(new(ClaimTypes.Role, OperatorRole));
        }

        if (client.RequestsPerMinute is { } perMinute)
        {
            claims.Add(new(RequestsPerMinuteClaim, perMinute.ToString(CultureInfo.InvariantCulture)));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (result.Failure is KeyStoreUnavailableException unavailable)
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await StoreOutages.WriteAsync(Context, problems, "The API key cannot be checked for the moment", unavailable.InnerException!);
            return;
        }

        var failure = result.Failure?.Message;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync("An API key is required", failure ?? "Send the client application's key as 'Authorization: Bearer <API key>'.");
    }

    /// <summary>A problem body where the client accepts one; the status and challenge alone otherwise.</summary>
    private async Task WriteProblemAsync(string title, string detail) => await problems.TryWriteAsync(new ProblemDetailsContext
    {
        HttpContext = Context,
        ProblemDetails = { Status = Response.StatusCode, Title = title, Detail = detail },
    });
}

/// <summary>The key store could not be reached: the key is neither accepted nor refused.</summary>
public sealed class KeyStoreUnavailableException(Exception inner) : Exception("The API key store cannot be reached.", inner);

/// <summary>
/// Who a request acts for: the client application its key authenticated and, on calls about a user's data, the end user the client
/// names in <see cref="EndUsers.Header"/> (checked by <see cref="EndUserFilter"/> before the endpoint runs).
/// </summary>
public sealed record Caller(Guid ClientId, bool IsOperator, string UserId)
{
    public Owner Owner => new(ClientId, UserId);

    public static ValueTask<Caller?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Caller?>(Guid.TryParse(context.User.FindFirstValue(ClaimTypes.NameIdentifier), CultureInfo.InvariantCulture, out var client)
            ? new Caller(client, context.User.IsInRole(ApiKeyAuthenticationHandler.OperatorRole), context.Request.Headers[EndUsers.Header].ToString())
            : throw new InvalidOperationException($"{context.GetEndpoint()?.DisplayName} takes a caller but allows anonymous requests."));
}

/// <summary>Calls about a user's data name the user: without a valid <see cref="EndUsers.Header"/> they are a 400 problem.</summary>
public sealed class EndUserFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.Headers[EndUsers.Header] is [var user] && EndUsers.IsValid(user)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem(title: $"The {EndUsers.Header} header is required",
                detail: $"Name the end user this call is for: the client's own id for them, 1–{EndUsers.MaxLength} visible ASCII characters.",
                statusCode: StatusCodes.Status400BadRequest));
}
