using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Clients;

namespace PinGlass.Api.Clients;

public sealed class ClientsOptions
{
    /// <summary>
    /// A key the Api stores for the client <see cref="DemoClient.Name"/> at start: the AppHost generates one in Development (kept in its
    /// user secrets) and prints it, so the README's calls work at once. Unset in production.
    /// </summary>
    [MinLength(32)]
    public string? DemoKey { get; set; }
}

/// <summary>Stores the demo client's key, when there is one, before the Api serves requests.</summary>
public sealed class DemoClient(ClientStore clients, IOptions<ClientsOptions> options) : IHostedService
{
    public const string Name = "demo";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.DemoKey is { } key)
        {
            await clients.AddKeyAsync(Name, operatorClient: false, key, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
