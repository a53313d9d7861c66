using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PinGlass.Generations.Progress;

namespace PinGlass.Generations.Tests;

/// <summary>
/// What a follower of a generation's events is sent when Redis delivers, reorders, loses or cannot carry them (#13 item 7): every
/// change, in version order, each once; what Redis did not bring in order from the database's log; and the end.
/// </summary>
public sealed class ProgressFollowerTests
{
    private static readonly Guid Id = Guid.NewGuid();
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(5);
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly FakeTimeProvider time = new();
    private readonly Channel<GenerationProgress> redis = Channel.CreateUnbounded<GenerationProgress>();

    /// <summary>What the database holds: every change committed, the last being the state now; null once the generation is gone.
    /// Every read is counted.</summary>
    private List<GenerationProgress>? database = [Progress(1)];

    /// <summary>Released on every read of the database.</summary>
    private readonly SemaphoreSlim read = new(0);

    private int reads;

    private static GenerationProgress Progress(long version, string status = "running") =>
        new(Id, version, status, (int)version, 23, (int)version, 0, 0, 1, 10, 0.02m * version);

    private ProgressFollower Follower(bool withRedis = true) =>
        new(withRedis ? redis.Reader : null, (seen, _) =>
        {
            Interlocked.Increment(ref reads);
            read.Release();
            // The changes newer than the follower's last, or the state now when there are none.
            return Task.FromResult<IReadOnlyList<GenerationProgress>?>(database is null ? null : [.. database.Where(p => p.Version > seen).DefaultIfEmpty(database[^1])]);
        }, CatchUp, time);

    [Fact]
    public async Task Events_from_redis_in_order_are_sent_as_they_come_until_the_end()
    {
        foreach (var version in new long[] { 2, 3, 4 })
        {
            redis.Writer.TryWrite(Progress(version));
        }

        redis.Writer.TryWrite(Progress(5, "completed"));
        redis.Writer.TryWrite(Progress(6)); // after the end: not sent

        var sent = await Follower().FollowAsync(Progress(1), -1, Token).Select(p => p.Version).ToListAsync(Token);

        Assert.Equal([1, 2, 3, 4, 5], sent);
        Assert.Equal(0, reads);
    }

    [Fact]
    public async Task A_change_overtaken_on_redis_by_a_newer_one_is_sent_before_it_from_the_database()
    {
        // Two portraits' changes committed one after the other and published in the other order (publishes leave after commit): the
        // newer one shows the older was committed, and the database's log has it. Dropping it lost a portrait's success.
        database = [.. Enumerable.Range(1, 5).Select(v => Progress(v)), Progress(6, "completed")];
        foreach (var version in new long[] { 2, 4, 3, 4, 5 })
        {
            redis.Writer.TryWrite(Progress(version));
        }

        redis.Writer.TryWrite(Progress(6, "completed"));

        var sent = await Follower().FollowAsync(Progress(1), -1, Token).Select(p => p.Version).ToListAsync(Token);

        Assert.Equal([1, 2, 3, 4, 5, 6], sent);
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task A_change_whose_publish_was_lost_is_read_from_the_database_after_the_catch_up_time()
    {
        await using var follow = Follower().FollowAsync(Progress(1), -1, Token).GetAsyncEnumerator(Token);
        Assert.True(await follow.MoveNextAsync());
        Assert.Equal(1, follow.Current.Version);

        database!.AddRange([Progress(2), Progress(3)]); // committed, never published
        var next = follow.MoveNextAsync().AsTask();
        time.Advance(CatchUp - TimeSpan.FromMilliseconds(1));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(await next);
        Assert.Equal(2, follow.Current.Version);
        Assert.True(await follow.MoveNextAsync());
        Assert.Equal(3, follow.Current.Version);
        Assert.Equal(1, reads);

        database!.Add(Progress(4, "completed"));
        next = follow.MoveNextAsync().AsTask();
        time.Advance(CatchUp);
        Assert.True(await next);
        Assert.Equal("completed", follow.Current.Status);
        Assert.False(await follow.MoveNextAsync());
    }

    [Fact]
    public async Task A_quiet_spell_with_nothing_new_in_the_database_sends_nothing()
    {
        await using var follow = Follower().FollowAsync(Progress(1), -1, Token).GetAsyncEnumerator(Token);
        Assert.True(await follow.MoveNextAsync());

        var next = follow.MoveNextAsync().AsTask();
        time.Advance(CatchUp);
        await read.WaitAsync(Token);
        Assert.False(next.IsCompleted); // only a newer version completes it

        redis.Writer.TryWrite(Progress(2));
        Assert.True(await next);
        Assert.Equal(2, follow.Current.Version);
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task A_reconnecting_follower_is_sent_only_what_is_newer_than_its_last_event_id()
    {
        database = [.. Enumerable.Range(1, 5).Select(v => Progress(v))];
        await using var follow = Follower().FollowAsync(Progress(5), 5, Token).GetAsyncEnumerator(Token);
        var next = follow.MoveNextAsync().AsTask();
        redis.Writer.TryWrite(Progress(4));
        redis.Writer.TryWrite(Progress(5));
        redis.Writer.TryWrite(Progress(6, "completed"));

        Assert.True(await next);
        Assert.Equal(6, follow.Current.Version);
        Assert.False(await follow.MoveNextAsync());
    }

    [Fact]
    public async Task A_reconnecting_follower_is_sent_every_change_it_missed_not_only_the_latest()
    {
        database = [.. Enumerable.Range(1, 5).Select(v => Progress(v))];
        await using var follow = Follower().FollowAsync(Progress(5), 2, Token).GetAsyncEnumerator(Token);
        foreach (var version in new long[] { 3, 4, 5 })
        {
            Assert.True(await follow.MoveNextAsync());
            Assert.Equal(version, follow.Current.Version);
        }

        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task An_end_undone_later_in_what_was_missed_does_not_end_the_stream()
    {
        // A portrait retried on request reopened the generation after it had completed.
        database = [.. Enumerable.Range(1, 4).Select(v => Progress(v)), Progress(5, "completed"), Progress(6)];
        await using var follow = Follower().FollowAsync(Progress(6), 3, Token).GetAsyncEnumerator(Token);
        foreach (var version in new long[] { 4, 5, 6 })
        {
            Assert.True(await follow.MoveNextAsync());
            Assert.Equal(version, follow.Current.Version);
        }

        redis.Writer.TryWrite(Progress(7, "completed"));
        Assert.True(await follow.MoveNextAsync());
        Assert.Equal(7, follow.Current.Version);
        Assert.False(await follow.MoveNextAsync());
    }

    [Fact]
    public async Task A_last_event_id_newer_than_the_generation_is_ignored_and_the_current_state_is_sent()
    {
        var sent = await Follower().FollowAsync(Progress(4, "completed"), 999, Token).Select(p => p.Version).ToListAsync(Token);

        Assert.Equal([4], sent);
    }

    [Fact]
    public async Task Without_redis_the_database_alone_is_followed_to_the_end()
    {
        await using var follow = Follower(withRedis: false).FollowAsync(Progress(1), -1, Token).GetAsyncEnumerator(Token);
        Assert.True(await follow.MoveNextAsync());

        database!.Add(Progress(9, "completed_with_failures"));
        var next = follow.MoveNextAsync().AsTask();
        time.Advance(CatchUp);
        Assert.True(await next);
        Assert.Equal(9, follow.Current.Version);
        Assert.False(await follow.MoveNextAsync());
    }

    [Fact]
    public async Task A_follower_that_has_the_end_is_sent_nothing()
    {
        database = [Progress(8, "cancelled")];
        var sent = await Follower().FollowAsync(Progress(8, "cancelled"), 8, Token).ToListAsync(Token);

        Assert.Empty(sent);
    }

    [Fact]
    public async Task A_generation_gone_from_the_database_ends_the_stream()
    {
        await using var follow = Follower(withRedis: false).FollowAsync(Progress(1), -1, Token).GetAsyncEnumerator(Token);
        Assert.True(await follow.MoveNextAsync());

        database = null;
        var next = follow.MoveNextAsync().AsTask();
        time.Advance(CatchUp);
        Assert.False(await next);
    }
}
