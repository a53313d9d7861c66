using System.ComponentModel.DataAnnotations;
using Hangfire;
using Microsoft.Extensions.Options;
using PinGlass.Platform.Jobs;

namespace PinGlass.Jobs.Workers;

public static class HangfireWorkerExtensions
{
    /// <summary>
    /// Runs this process's Hangfire servers; every replica of PinGlass.Jobs adds its own to the shared storage. Batch jobs stay with
    /// their portraits until they end, so they get a server of their own: completions and housekeeping never wait behind them.
    /// </summary>
    public static WebApplicationBuilder AddHangfireWorkers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HangfireWorkerSettings>().BindConfiguration("Hangfire").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHangfireServer((services, server) =>
        {
            var settings = services.GetRequiredService<IOptions<HangfireWorkerSettings>>().Value;
            server.Queues = [JobQueues.Generations];
            server.WorkerCount = settings.GenerationWorkers;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:generations";
        });
        builder.Services.AddHangfireServer((services, server) =>
        {
            var settings = services.GetRequiredService<IOptions<HangfireWorkerSettings>>().Value;
            server.Queues = [JobQueues.Completions, JobQueues.Maintenance];
            server.WorkerCount = settings.CompletionWorkers;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:completions";
        });
        // Client webhooks wait on the clients' servers: workers of their own, so a slow or silent receiver holds only these, never a
        // generation's or a completion's.
        builder.Services.AddHangfireServer((services, server) =>
        {
            var settings = services.GetRequiredService<IOptions<HangfireWorkerSettings>>().Value;
            server.Queues = [JobQueues.ClientWebhooks];
            server.WorkerCount = settings.ClientWebhookWorkers;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:client-webhooks";
        });
        return builder;
    }
}

/// <summary>Settings of this process's Hangfire servers, bound from the <c>Hangfire</c> section.</summary>
public sealed class HangfireWorkerSettings
{
    /// <summary>
    /// Generations (batches) one replica runs at once: a batch job mostly waits on Replicate, so this is concurrency, not CPU.
    /// </summary>
    [Range(1, 500)]
    public int GenerationWorkers { get; set; } = 40;

    /// <summary>
    /// Webhook completions, finalizations and housekeeping run at once by one replica. A completion's work is an output copy and an
    /// identity check the faces service answers a few at a time; more workers than that only add idle polls.
    /// </summary>
    [Range(1, 200)]
    public int CompletionWorkers { get; set; } = 10;

    /// <summary>Client webhook attempts one replica makes at once; each waits at most <c>ClientWebhooks:Timeout</c> (15 s).</summary>
    [Range(1, 200)]
    public int ClientWebhookWorkers { get; set; } = 5;
}
