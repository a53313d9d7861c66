namespace PinGlass.AppHost.Tests;

/// <summary>
/// The tests that run twenty generations at once (the shared AppHost's and the chaos suite's) take both cores for minutes each:
/// run together, each took three times as long as alone and came within a minute of its bound on a clean-clone run, and past it
/// on CI's slower machine. They take turns; each waits for the other rather than sharing the cores with it. (Run first in its class,
/// the shared AppHost's met the other AppHosts' start-ups and took 7 minutes instead of 2 to 4: xUnit's own order is kept.)
/// </summary>
public static class HeavyLoad
{
    private static readonly SemaphoreSlim Turn = new(1, 1);

    public static async Task<IDisposable> TakeTurnAsync()
    {
        await Turn.WaitAsync(TestContext.Current.CancellationToken);
        return new Release();
    }

    private sealed class Release : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Turn.Release();
            }
        }
    }
}
