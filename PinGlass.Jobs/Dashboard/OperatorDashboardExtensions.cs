using System.ComponentModel.DataAnnotations;
using Hangfire;

namespace PinGlass.Jobs.Dashboard;

public static class OperatorDashboardExtensions
{
    public const string Path = "/hangfire";

    public static WebApplicationBuilder AddOperatorDashboardAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OperatorDashboardSettings>()
            .BindConfiguration(OperatorDashboardSettings.Section)
            .ValidateDataAnnotations()
            .Validate(s => string.IsNullOrEmpty(s.Password) == string.IsNullOrEmpty(s.Username),
                $"{OperatorDashboardSettings.Section}:Username and :Password are set together or not at all.")
            .ValidateOnStart();
        builder.Services.AddSingleton<OperatorAuthorizationFilter>();
        // Hangfire checks antiforgery tokens on its POST actions (delete, requeue, trigger) only when the service is registered;
        // without it any web page could submit them through a developer's or operator's browser.
        builder.Services.AddAntiforgery();
        return builder;
    }

    /// <summary>
    /// Maps the Hangfire dashboard. The filter list replaces Hangfire's default local-requests-only filter, which would otherwise
    /// still refuse every remote operator.
    /// </summary>
    public static void MapOperatorDashboard(this WebApplication app) =>
        app.MapHangfireDashboard(Path, new DashboardOptions
        {
            Authorization = [app.Services.GetRequiredService<OperatorAuthorizationFilter>()],
            DashboardTitle = "PinGlass jobs",
        });
}

/// <summary>The operator credential for the Hangfire dashboard, from the <c>HangfireDashboard</c> section.</summary>
public sealed class OperatorDashboardSettings
{
    public const string Section = "HangfireDashboard";

    public string? Username { get; set; }

    [MinLength(12, ErrorMessage = "HangfireDashboard:Password must be at least 12 characters.")]
    public string? Password { get; set; }
}
