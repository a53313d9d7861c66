using PinGlass.Platform.Storage;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Its own AppHost, started twice over one data folder: stopping must leave nothing running, starting again finds the data, and a lock
/// a killed replica left in Hangfire's storage does not stop the Jobs replicas from starting.
/// </summary>
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
                // An ended generation: one left queued would be planned again by the reconciliation, and it has no photos.
                await stores.QueryAsync($"INSERT INTO generation_jobs (id, total_portraits, budget_usd, status, completed_at) VALUES ('{marker}', 23, 0.80, 'cancelled', now()) RETURNING id", r => r.GetGuid(0));
                await stores.Redis.StringSetAsync($"restart-test:{marker}", "kept");
                await stores.Blobs.GetBlobContainerClient(BlobContainers.Photos).GetBlobClient($"{marker}.txt")
                    .UploadAsync(BinaryData.FromString("kept"), ct);
                // What a replica killed while registering the recurring jobs leaves behind: its lock, held for minutes. (Hangfire
                // names it lock:recurring-job:<id>, and Hangfire.PostgreSql prefixes its schema.) A replica may hold that lock for a
                // moment now: the row is written once the lock is free, and then belongs to no one.
                Assert.True(await Poll.UntilAsync(() => StaleLockAsync(stores, "hangfire:lock:recurring-job:sweep-deadlines"), taken => taken,
                    TimeSpan.FromSeconds(30)));
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

    private static async Task<bool> StaleLockAsync(Stores stores, string resource) =>
        (await stores.QueryAsync($"INSERT INTO hangfire.lock (resource, acquired) VALUES ('{resource}', now()) ON CONFLICT DO NOTHING RETURNING resource",
            r => r.GetString(0))).Count == 1;
}
