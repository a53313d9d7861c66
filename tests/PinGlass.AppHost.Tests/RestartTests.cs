using PinGlass.Platform.Storage;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Its own AppHost, started twice over one data folder: stopping must leave nothing running, starting again finds the data, and a lock
/// a killed replica left in Hangfire's storage does not stop the Jobs replicas from starting.
/// </summary>
[Collection(OwnAppHost.Collection)]
public sealed class RestartTests
{
    [Fact]
    public async Task Stopping_leaves_no_server_running_and_a_restart_keeps_the_data()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataRoot = PinGlassApp.NewDataRoot();
        var marker = Guid.NewGuid();
        try
        {
            await using (var first = await PinGlassApp.StartAsync(dataRoot))
            {
                Assert.NotEmpty(PinGlassApp.ProcessesUsing(dataRoot));
                await using var stores = await Stores.ConnectAsync(first);
                await stores.QueryAsync($"INSERT INTO generation_jobs (id, total_portraits, budget_usd) VALUES ('{marker}', 23, 0.80) RETURNING id", r => r.GetGuid(0));
                await stores.Redis.StringSetAsync($"restart-test:{marker}", "kept");
                await stores.Blobs.GetBlobContainerClient(BlobContainers.Photos).GetBlobClient($"{marker}.txt")
                    .UploadAsync(BinaryData.FromString("kept"), ct);
                // What a replica killed while registering the recurring jobs leaves behind: its lock, held for minutes.
                // (Hangfire names it lock:recurring-job:<id>; a storage may prefix it with its schema.)
                Assert.Equal(2, (await stores.QueryAsync("""
                    INSERT INTO hangfire.lock (resource, acquired)
                    VALUES ('lock:recurring-job:sweep-deadlines', now()), ('hangfire:lock:recurring-job:sweep-deadlines', now()) RETURNING resource
                    """, r => r.GetString(0))).Count);
            }

            var left = await Poll.UntilAsync(() => Task.FromResult(PinGlassApp.ProcessesUsing(dataRoot)), p => p.Count == 0, TimeSpan.FromSeconds(30));
            Assert.Empty(left);

            await using (var second = await PinGlassApp.StartAsync(dataRoot))
            {
                await using var stores = await Stores.ConnectAsync(second);
                Assert.Equal([marker], await stores.QueryAsync($"SELECT id FROM generation_jobs WHERE id = '{marker}'", r => r.GetGuid(0)));
                Assert.Equal("kept", (string?)await stores.Redis.StringGetAsync($"restart-test:{marker}"));
                var blob = await stores.Blobs.GetBlobContainerClient(BlobContainers.Photos).GetBlobClient($"{marker}.txt").DownloadContentAsync(ct);
                Assert.Equal("kept", blob.Value.Content.ToString());
            }

            Assert.Empty(await Poll.UntilAsync(() => Task.FromResult(PinGlassApp.ProcessesUsing(dataRoot)), p => p.Count == 0, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            PinGlassApp.DeleteDataRoot(dataRoot);
        }
    }
}
