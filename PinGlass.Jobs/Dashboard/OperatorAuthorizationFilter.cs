using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Hangfire.Dashboard;
using Microsoft.Extensions.Options;

namespace PinGlass.Jobs.Dashboard;

/// <summary>
/// Lets a request into the Hangfire dashboard when it comes from this machine in Development, or when it carries the operator
/// credential (HTTP Basic) from configuration. With no credential configured, only Development loopback gets in.
/// </summary>
public sealed class OperatorAuthorizationFilter(IHostEnvironment environment, IOptions<OperatorDashboardSettings> settings)
    : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (environment.IsDevelopment() && http.Connection.RemoteIpAddress is { } remote && System.Net.IPAddress.IsLoopback(remote))
        {
            return true;
        }

        if (HasOperatorCredential(http.Request.Headers.Authorization.ToString()))
        {
            return true;
        }

        // Hangfire answers 401; this makes browsers ask for the credential.
        http.Response.Headers.WWWAuthenticate = "Basic realm=\"PinGlass jobs\", charset=\"UTF-8\"";
        return false;
    }

    private bool HasOperatorCredential(string authorization)
    {
        var (username, password) = (settings.Value.Username, settings.Value.Password);
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
