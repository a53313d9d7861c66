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

    /// <summary>Gives the Api the demo client's key (it stores it at start) and prints the key once the Api is ready.</summary>
    public static IResourceBuilder<ProjectResource> WithDemoKey(this IResourceBuilder<ProjectResource> api, IResourceBuilder<ParameterResource> key) => api
        .WithEnvironment("Clients__DemoKey", key)
        .OnResourceReady(async (_, ready, cancellationToken) =>
            LogDemoKey(ready.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PinGlass.AppHost"), await key.Resource.GetValueAsync(cancellationToken)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo API key (client 'demo'): {Key}   send it as Authorization: Bearer <key>, with X-PinGlass-User: <your user id>")]
    private static partial void LogDemoKey(ILogger logger, string? key);

    [LoggerMessage(Level = LogLevel.Information, Message = "{DisplayText} ({Resource}): {Url}")]
    private static partial void LogUrl(ILogger logger, string displayText, string resource, string url);
}
