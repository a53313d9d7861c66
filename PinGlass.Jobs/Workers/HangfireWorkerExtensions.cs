using System.ComponentModel.DataAnnotations;
using Hangfire;
using Microsoft.Extensions.Options;
using PinGlass.Domain.Jobs;

namespace PinGlass.Jobs.Workers;

public static class HangfireWorkerExtensions
{
    /// <summary>Runs a Hangfire server in this process: every replica of PinGlass.Jobs is one more server on the shared storage.</summary>
    public static WebApplicationBuilder AddHangfireWorkers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HangfireWorkerSettings>().BindConfiguration("Hangfire").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHangfireServer((services, server) =>
        {
            var settings = services.GetRequiredService<IOptions<HangfireWorkerSettings>>().Value;
            server.Queues = JobQueues.All;
            server.WorkerCount = settings.WorkerCount;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
        });
        return builder;
    }
}

/// <summary>Settings of this process's Hangfire server, bound from the <c>Hangfire</c> section.</summary>
public sealed class HangfireWorkerSettings
{
    /// <summary>Jobs run at once by this replica. Most jobs wait on Replicate or the network, not on the CPU.</summary>
    [Range(1, 200)]
    public int WorkerCount { get; set; } = 20;
}
