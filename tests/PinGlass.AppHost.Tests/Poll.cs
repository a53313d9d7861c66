namespace PinGlass.AppHost.Tests;

/// <summary>Waits for something the system does on its own schedule (health probes, heartbeats, process exit).</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }
}
