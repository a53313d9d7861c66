using System.Net;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Platform;
using PinGlass.Platform.Health;
using PinGlass.Platform.Storage;

namespace PinGlass.AppHost.Tests;

public sealed class ServicesReachTheStoresTests(PinGlassApp pinglass)
{
    private sealed record Probe(string Service, string Instance, DateTime ProbedAt);

    [Fact]
    public async Task The_api_and_both_jobs_replicas_write_and_read_back_postgres_redis_and_blobs()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);

        // Each instance's store round-trip health check records itself in all three stores on every run.
        var probes = await Poll.UntilAsync(
            () => stores.QueryAsync("SELECT service, instance, probed_at FROM service_probes", r => new Probe(r.GetString(0), r.GetString(1), r.GetDateTime(2))),
            rows => rows.Count(p => p.Service == ResourceNames.Api) == 1 && rows.Count(p => p.Service == ResourceNames.Jobs) == 2);

        Assert.Single(probes, p => p.Service == ResourceNames.Api);
        Assert.Equal(2, probes.Count(p => p.Service == ResourceNames.Jobs));
        Assert.Equal(3, probes.Select(p => p.Instance).Distinct().Count());

        var container = stores.Blobs.GetBlobContainerClient(BlobContainers.Probes);
        foreach (var probe in probes)
        {
            var prefix = $"{probe.Service}|{probe.Instance}|";
            var cached = (string?)await stores.Redis.StringGetAsync(StoreRoundTripProbe.RedisKey(probe.Service, probe.Instance));
            Assert.StartsWith(prefix, cached);

            var blob = await container.GetBlobClient(StoreRoundTripProbe.BlobName(probe.Service, probe.Instance))
                .DownloadContentAsync(TestContext.Current.CancellationToken);
            Assert.StartsWith(prefix, blob.Value.Content.ToString());
        }
    }

    [Theory]
    [InlineData(ResourceNames.Api)]
    [InlineData(ResourceNames.Jobs)]
    public async Task Health_endpoint_reports_every_store_healthy(string service)
    {
        // The checks are shown to operators: the Api's operator keys; the Jobs' dashboard credential, or this machine in Development.
        using var http = pinglass.App.CreateHttpClient(service);
        if (service == ResourceNames.Api)
        {
            http.ActingFor(await OperatorKeyAsync(), user: null);
        }

        // The proxy spreads requests over the replicas, and a replica that has just started reports unhealthy until its first
        // store round trip: ask until each replica has had time to answer healthy.
        var (status, body) = await Poll.UntilAsync(
            async () =>
            {
                var response = await http.GetAsync("/health", TestContext.Current.CancellationToken);
                return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            },
            answer => answer.StatusCode == HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"store-round-trip\":{\"status\":\"Healthy\"", body);
        Assert.Contains("\"PostgreSql\":{\"status\":\"Healthy\"", body);
        Assert.Contains("\"StackExchange.Redis\":{\"status\":\"Healthy\"", body);
    }

    [Fact]
    public async Task The_apis_health_shows_only_its_status_to_anyone_but_an_operator()
    {
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = pinglass.App.CreateHttpClient(ResourceNames.Api);
        using var client = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(user: null);
        using var operatorClient = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(await OperatorKeyAsync(), user: null);

        // Whatever the checks say at the moment (the status code follows them): the status alone, or with each check for an operator.
        foreach (var (http, checks) in new[] { (anonymous, false), (client, false), (operatorClient, true) })
        {
            using var response = await http.GetAsync("/health", ct);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal(checks ? ["status", "checks"] : ["status"], body.EnumerateObject().Select(p => p.Name));
            Assert.Equal(response.StatusCode == HttpStatusCode.OK, body.GetProperty("status").GetString() is "Healthy" or "Degraded");
        }
    }

    private async Task<string> OperatorKeyAsync()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var (_, key) = await new ClientStore(stores.Database, TimeProvider.System).CreateKeyAsync($"health-operator-{Guid.NewGuid():N}",
            operatorClient: true, TestContext.Current.CancellationToken);
        return key;
    }
}
