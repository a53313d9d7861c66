using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Hangfire.Dashboard;
using Microsoft.Extensions.Options;

namespace PinGlass.Jobs.Dashboard;

/// <summary>
/// Lets a request into the Hangfire dashboard when it comes from this machine in Development, or when it carries the operator
/// credential (HTTP Basic) from configuration. With no credential configured, only Development loopback gets in. Basic sends
/// the credential in the clear: outside a developer's machine the dashboard belongs behind TLS.
/// </summary>
public sealed class OperatorAuthorizationFilter(IHostEnvironment environment, IOptions<OperatorDashboardSettings> settings)
    : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) => Admits(context.GetHttpContext());

    /// <summary>Whether this request may use the dashboard; a refused one is told to ask for the credential.</summary>
    public bool Admits(HttpContext http)
    {
        if (IsOperator(http))
        {
            return true;
        }

        // Hangfire answers 401; this makes browsers ask for the credential.
        http.Response.Headers.WWWAuthenticate = "Basic realm=\"PinGlass jobs\", charset=\"UTF-8\"";
        return false;
    }

    /// <summary>Whether the request comes from an operator: this machine in Development, or the operator credential.</summary>
    public bool IsOperator(HttpContext http) =>
        (environment.IsDevelopment() && http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote))
        || PresentsCredential(http.Request.Headers.Authorization.ToString(), settings.Value.Username, settings.Value.Password);

    /// <summary>Whether an Authorization header carries exactly this Basic credential (compared in constant time).</summary>
    public static bool PresentsCredential(string? authorization, string? username, string? password)
    {
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password)
            || !AuthenticationHeaderValue.TryParse(authorization, out var header)
            || !"Basic".Equals(header.Scheme, StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return false;
        }

        byte[] presented;
        try
        {
            presented = Convert.FromBase64String(header.Parameter);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes($"{username}:{password}"));
    }
}
