using Npgsql;
using StackExchange.Redis;

namespace PinGlass.Platform.Storage;

/// <summary>Tells a store that is out of reach for the moment from one that refused what it was asked.</summary>
public static class StoreOutage
{
    /// <summary>
    /// A store that cannot be reached, is shutting down or starting, or did not answer in time — not a statement it refused (a
    /// deadlock, a serialization failure, a full disk or a bug are not outages). Inner exceptions count (Hangfire wraps).
    /// </summary>
    public static bool Is(Exception exception) => exception switch
    {
        // 57P01–57P03: the server shutting down, crashed or starting; class 08: the connection failed.
        PostgresException postgres => postgres.SqlState is "57P01" or "57P02" or "57P03" || postgres.SqlState.StartsWith("08", StringComparison.Ordinal),
        // Without a server error: the socket failed or the server did not answer in time.
        NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException or TimeoutException } => true,
        RedisConnectionException or RedisTimeoutException => true,
        { InnerException: { } inner } => Is(inner),
        _ => false,
    };
}
