using System.Net;
using PinGlass.Fixtures;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>The metrics scrape endpoint is served only where Telemetry:ScrapeEndpoint turns it on (TelemetryTests read it there).</summary>
public sealed class ScrapeEndpointTests(PinGlassApp fixture)
{
    [Theory]
    [InlineData(ResourceNames.Api)]
    [InlineData(ResourceNames.Jobs)]
    public async Task Metrics_are_not_served_by_default(string service)
    {
        // With a key: the Api answers a path it does not serve 401 to a caller without one, whatever the path.
        using var client = fixture.App.CreateHttpClient(service).ActingFor();

        using var response = await client.GetAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
