using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PinGlass.AppHost;

public static partial class OperatorUrls
{
    /// <summary>
    /// Links a page of the service (a dashboard, an API reference) in the Aspire dashboard, and prints its address on the console
    /// once the service is ready, so an operator starting PinGlass from a terminal finds it without opening the dashboard.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithOperatorUrl(
        this IResourceBuilder<ProjectResource> project, string path, string displayText)
    {
        var endpoint = project.GetEndpoint("http");
        return project
            .WithUrlForEndpoint("http", _ => new() { Url = path, DisplayText = displayText })
            .OnResourceReady((resource, ready, _) =>
            {
                var logger = ready.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PinGlass.AppHost");
                LogUrl(logger, displayText, resource.Name, $"{endpoint.Url.TrimEnd('/')}{path}");
                return Task.CompletedTask;
            });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{DisplayText} ({Resource}): {Url}")]
    private static partial void LogUrl(ILogger logger, string displayText, string resource, string url);
}
