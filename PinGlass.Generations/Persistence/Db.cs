using System.Collections.Concurrent;
using System.Reflection;
using Npgsql;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// Named parameters from an anonymous object (<c>new { id, index }</c> for <c>@id</c>, <c>@index</c>) and rows read by column name, so
/// no statement depends on the position of a parameter or a column.
/// </summary>
internal static class Db
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

    public static NpgsqlCommand Command(this NpgsqlConnection connection, string sql, object? args = null, NpgsqlTransaction? transaction = null) =>
        WithArgs(new NpgsqlCommand(sql, connection, transaction), args);

    public static NpgsqlCommand Command(this NpgsqlDataSource database, string sql, object? args = null) => WithArgs(database.CreateCommand(sql), args);

    public static async Task<List<T>> QueryAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(read(reader));
            }

            return rows;
        }
    }

    public static async Task<T?> QuerySingleOrDefaultAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> read,
        CancellationToken cancellationToken) => (await command.QueryAsync(read, cancellationToken)).SingleOrDefault();

    public static async Task<int> ExecuteAsync(this NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public static T Get<T>(this NpgsqlDataReader reader, string column) => reader.GetFieldValue<T>(reader.GetOrdinal(column));

    public static T? Maybe<T>(this NpgsqlDataReader reader, string column) where T : struct =>
        reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : reader.GetFieldValue<T>(i);

    public static string? Text(this NpgsqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var i && reader.IsDBNull(i) ? null : reader.GetString(i);

    public static T Status<T>(this NpgsqlDataReader reader, string column = "status") where T : struct, Enum =>
        StatusNames.Parse<T>(reader.GetString(reader.GetOrdinal(column)));

    private static NpgsqlCommand WithArgs(NpgsqlCommand command, object? args)
    {
        if (args is null)
        {
            return command;
        }

        foreach (var property in Properties.GetOrAdd(args.GetType(), type => type.GetProperties()))
        {
            command.Parameters.AddWithValue(property.Name, property.GetValue(args) switch
            {
                null => DBNull.Value,
                Enum status => StatusNameOf(status),
                var value => value,
            });
        }

        return command;
    }

    private static string StatusNameOf(Enum status) => status switch
    {
        GenerationStatus s => s.Name(),
        PortraitStatus s => s.Name(),
        PredictionState s => s.Name(),
        _ => throw new ArgumentException($"{status.GetType().Name} has no column name.", nameof(status)),
    };
}
