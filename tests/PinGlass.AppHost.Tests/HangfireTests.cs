using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using PinGlass.Platform;
using PinGlass.Platform.Jobs;
using PinGlass.Jobs.Dashboard;

namespace PinGlass.AppHost.Tests;

public sealed class HangfireTests(PinGlassApp pinglass)
{
    [Fact]
    public async Task Each_jobs_replica_runs_a_generations_server_a_completions_server_and_a_client_webhooks_server()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);

        // Server ids are machine:pid:purpose:…; a replica killed by another test may linger for a minute beside its restart.
        var processes = await Poll.UntilAsync(
            async () => (await stores.QueryAsync(
                    $"SELECT id, data FROM {HangfireStorageExtensions.Schema}.server WHERE lastheartbeat > now() - interval '1 minute'",
                    r => (Id: r.GetString(0), Queues: JsonDocument.Parse(r.GetString(1)).RootElement.GetProperty("Queues").EnumerateArray()
                        .Select(q => q.GetString()!).ToList())))
                .GroupBy(s => string.Join(':', s.Id.Split(':').Take(2)))
                .ToList(),
            groups => groups.Count >= 2);

        Assert.True(processes.Count >= 2, $"{processes.Count} Jobs processes with Hangfire servers");
        Assert.All(processes, servers =>
        {
            Assert.Equal(3, servers.Count());
            Assert.Contains(servers, s => s.Queues.SequenceEqual([JobQueues.Generations]));
            Assert.Contains(servers, s => s.Queues.SequenceEqual([JobQueues.Completions, JobQueues.Maintenance]));
            Assert.Contains(servers, s => s.Queues.SequenceEqual([JobQueues.ClientWebhooks]));
        });
    }

    [Fact]
    public async Task The_dashboard_opens_to_a_developer_on_this_machine()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Jobs);

        var response = await http.GetAsync(OperatorDashboardExtensions.Path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("PinGlass jobs", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Dashboard_actions_need_the_antiforgery_token_so_other_sites_cannot_post_them()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Jobs);

        var forged = await http.PostAsync($"{OperatorDashboardExtensions.Path}/recurring/trigger",
            new FormUrlEncodedContent([new("jobs[]", "any")]), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
    }

    [Theory]
    [InlineData("Development", "127.0.0.1", null, true)]
    [InlineData("Development", "::1", null, true)]
    [InlineData("Development", "203.0.113.7", null, false)]
    [InlineData("Production", "127.0.0.1", null, false)]
    [InlineData("Production", "203.0.113.7", "ops:correct horse battery", true)]
    [InlineData("Production", "203.0.113.7", "ops:wrong password here", false)]
    public void Loopback_gets_in_only_in_development_and_elsewhere_only_the_operator(
        string environment, string remote, string? credential, bool admitted)
    {
        var filter = new OperatorAuthorizationFilter(
            new HostingEnvironment { EnvironmentName = environment },
            Options.Create(new OperatorDashboardSettings { Username = "ops", Password = "correct horse battery" }));
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (credential is not null)
        {
            http.Request.Headers.Authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credential));
        }

        Assert.Equal(admitted, filter.Admits(http));
        Assert.Equal(admitted, string.IsNullOrEmpty(http.Response.Headers.WWWAuthenticate));
    }

    [Theory]
    [InlineData("ops", "correct horse battery", true)]
    [InlineData("ops", "wrong password here", false)]
    [InlineData("root", "correct horse battery", false)]
    [InlineData("ops", "correct horse batter", false)]
    public void Only_the_configured_operator_credential_opens_the_dashboard(string username, string password, bool accepted)
    {
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));

        Assert.Equal(accepted, OperatorAuthorizationFilter.PresentsCredential(header, "ops", "correct horse battery"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Basic")]
    [InlineData("Basic !!!not-base64!!!")]
    [InlineData("Bearer b3BzOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==")]
    public void Malformed_or_foreign_authorization_is_refused(string header)
    {
        Assert.False(OperatorAuthorizationFilter.PresentsCredential(header, "ops", "correct horse battery"));
    }

    [Fact]
    public void Without_a_configured_credential_nobody_gets_in_by_password()
    {
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(":"));

        Assert.False(OperatorAuthorizationFilter.PresentsCredential(header, null, null));
        Assert.False(OperatorAuthorizationFilter.PresentsCredential(header, "", ""));
    }
}
