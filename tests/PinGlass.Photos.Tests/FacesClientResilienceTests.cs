using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PinGlass.Photos.Faces;

namespace PinGlass.Photos.Tests;

public sealed class FacesClientResilienceTests
{
    [Fact]
    public async Task An_analysis_slower_than_the_default_attempt_timeout_is_waited_for_and_sent_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var requests = 0;
        // A faces service busy with an upload's other photos: it answers after 12 s, past the 10 s attempt timeout of the
        // ServiceDefaults handler, within Photos:Faces:Timeout.
        var slow = WebApplication.CreateSlimBuilder();
        slow.WebHost.UseUrls("http://127.0.0.1:0");
        slow.Logging.ClearProviders();
        await using var service = slow.Build();
        service.MapPost("/v1/faces", async () =>
        {
            Interlocked.Increment(ref requests);
            await Task.Delay(TimeSpan.FromSeconds(12), ct);
            return Results.Json(new { width = 32, height = 32, elapsedMs = 1, faces = Array.Empty<object>() });
        });
        await service.StartAsync(ct);
        var address = service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var builder = Host.CreateApplicationBuilder();
        builder.AddServiceDefaults();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Photos:Faces:BaseAddress"] = address,
            ["Photos:Faces:Timeout"] = "00:00:30",
        });
        builder.AddPhotos();
        using var host = builder.Build();

        var analysis = await host.Services.GetRequiredService<FacesClient>().AnalyseRawAsync(new byte[32 * 32 * 3], 32, 32, ct);

        Assert.Empty(analysis.Faces);
        Assert.Equal(1, requests);
    }
}
