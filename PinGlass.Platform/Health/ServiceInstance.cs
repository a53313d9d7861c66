using Microsoft.Extensions.Hosting;

namespace PinGlass.Platform.Health;

/// <summary>Which service this process is (the AppHost's resource name) and which replica of it.</summary>
public sealed record ServiceInstance(string Service, string Instance)
{
    public static ServiceInstance From(IHostApplicationBuilder builder) => new(
        builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName,
        $"{Environment.MachineName}:{Environment.ProcessId}");
}
