using System.Net.Sockets;
using Npgsql;
using PinGlass.Platform.Storage;
using StackExchange.Redis;

namespace PinGlass.Generations.Tests;

/// <summary>Which store failures are outages (a 503 to send again) and which are refusals or bugs (a 500).</summary>
public sealed class StoreOutageTests
{
    private static PostgresException Server(string sqlState) => new("message", "FATAL", "FATAL", sqlState);

    public static TheoryData<string, Exception> Outages => new()
    {
        { "connection refused", new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)) },
        { "connection reset", new NpgsqlException("Exception while reading from stream", new IOException("reset")) },
        { "timed out", new NpgsqlException("Timeout", new TimeoutException()) },
        { "server shutting down", Server("57P01") },
        { "server crashed", Server("57P02") },
        { "server starting", Server("57P03") },
        { "connection failure", Server("08006") },
        { "Redis unreachable", new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no server") },
        { "Redis timeout", new RedisTimeoutException("timeout", CommandStatus.Sent) },
        { "wrapped by Hangfire", new InvalidOperationException("Background job creation failed", Server("57P01")) },
    };

    public static TheoryData<string, Exception> NotOutages => new()
    {
        { "deadlock", Server("40P01") },
        { "serialization failure", Server("40001") },
        { "disk full", Server("53100") },
        { "unique violation", Server("23505") },
        { "bug", new InvalidOperationException("bug") },
        { "bare Npgsql error", new NpgsqlException("protocol") },
    };

    [Theory]
    [MemberData(nameof(Outages))]
    public void Unreachable_stopping_starting_and_late_stores_are_outages(string what, Exception exception) => Assert.True(StoreOutage.Is(exception), what);

    [Theory]
    [MemberData(nameof(NotOutages))]
    public void Refusals_and_bugs_are_not_outages(string what, Exception exception) => Assert.False(StoreOutage.Is(exception), what);
}
