using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PinGlass.Photos.Selection;

namespace PinGlass.Photos.Tests;

/// <summary>The bounded queue uploads pass through before analysis: places, waiting room, refusals and the longest wait.</summary>
public sealed class AnalysisQueueTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().AddSingleton<PhotoMetrics>().BuildServiceProvider();
    private readonly MeterListener listener = new();
    private long refused;

    /// <summary>Counts this test's refusals only: its meter is its own factory's.</summary>
    public AnalysisQueueTests()
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "pinglass.photos.analysis.queue_full")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref refused, value));
        listener.Start();
    }

    private long Refused => Interlocked.Read(ref refused);

    public void Dispose()
    {
        listener.Dispose();
        services.Dispose();
    }

    private AnalysisQueue Queue(int atOnce, int waiting, TimeSpan? maxWait = null, int perClient = 100) => new(
        Options.Create(new AnalysisQueueOptions
        {
            UploadsAtOnce = atOnce, UploadsWaiting = waiting, MaxWait = maxWait ?? TimeSpan.FromMinutes(1), UploadsPerClient = perClient,
        }),
        services.GetRequiredService<PhotoMetrics>());

    [Fact]
    public async Task Uploads_past_the_places_wait_and_past_the_waiting_room_are_refused_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var queue = Queue(atOnce: 2, waiting: 1);
        using var first = await queue.EnterAsync("acme", ct);
        using var second = await queue.EnterAsync("acme", ct);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.False(queue.RefusesNow("acme"));

        var third = queue.EnterAsync("acme", ct).AsTask();
        Assert.False(third.IsCompleted);
        Assert.True(queue.RefusesNow("acme"));
        Assert.Null(await queue.EnterAsync("acme", ct));
        Assert.Equal(2, Refused);

        // A place freed goes to the upload that waited.
        first!.Dispose();
        using var admitted = await third.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.NotNull(admitted);
        Assert.False(queue.RefusesNow("acme"));
    }

    [Fact]
    public async Task An_upload_that_would_wait_past_the_longest_wait_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var queue = Queue(atOnce: 1, waiting: 4, maxWait: TimeSpan.FromMilliseconds(200));
        using var held = await queue.EnterAsync("acme", ct);

        Assert.Null(await queue.EnterAsync("acme", ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(1, Refused);
        // The refused upload left the waiting room: the next one waits in its turn.
        Assert.False(queue.RefusesNow("acme"));
    }

    [Fact]
    public async Task A_caller_that_hangs_up_while_waiting_is_cancelled_not_counted_as_refused()
    {
        using var queue = Queue(atOnce: 1, waiting: 1);
        using var held = await queue.EnterAsync("acme", TestContext.Current.CancellationToken);
        using var hangUp = new CancellationTokenSource();

        var waiting = queue.EnterAsync("acme", hangUp.Token).AsTask();
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, Refused);
        Assert.False(queue.RefusesNow("acme"));
    }

    [Fact]
    public async Task One_client_has_at_most_its_share_in_the_queue_while_others_still_get_in()
    {
        var ct = TestContext.Current.CancellationToken;
        using var queue = Queue(atOnce: 1, waiting: 10, perClient: 2);
        using var first = await queue.EnterAsync("greedy", ct);
        var second = queue.EnterAsync("greedy", ct).AsTask();

        Assert.True(queue.RefusesNow("greedy"));
        Assert.Null(await queue.EnterAsync("greedy", ct));
        Assert.False(queue.RefusesNow("modest"));
        var other = queue.EnterAsync("modest", ct).AsTask();
        Assert.Equal(2, Refused);

        // The greedy client's places, once freed, are its own again; the other client's upload waited in its turn.
        first!.Dispose();
        var admitted = await second.WaitAsync(TimeSpan.FromSeconds(10), ct);
        admitted!.Dispose();
        using var theOther = await other.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.NotNull(theOther);
        Assert.False(queue.RefusesNow("greedy"));
    }
}
