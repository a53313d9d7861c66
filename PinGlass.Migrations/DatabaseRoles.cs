using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace PinGlass.Migrations;

/// <summary>
/// The two roles PinGlass's database is used by, made from their own connection strings: its owner, as which the migrations run and
/// which owns every schema object, and the services' role, which may read and write rows and nothing else (no schema change, no
/// temporary tables, no other database). Made by the server's superuser, which nothing else uses.
/// </summary>
public static partial class DatabaseRoles
{
    /// <summary>
    /// As the superuser: both roles (their passwords set again, so a changed secret takes effect), the database owned by the owner and
    /// closed to every other role but the services', and whatever an earlier version made as the superuser handed to the owner.
    /// </summary>
    public static async Task PrepareAsync(string superuser, string owner, string service, CancellationToken cancellationToken)
    {
        var (ownerRole, ownerPassword, database) = Parse(owner);
        var (serviceRole, servicePassword, serviceDatabase) = Parse(service);
        if (serviceDatabase != database || serviceRole == ownerRole)
        {
            throw new InvalidOperationException("The owner's and the services' connection strings must name one database and two roles.");
        }

        await using (var server = await OpenAsync(superuser, null, cancellationToken))
        {
            await SetRoleAsync(server, ownerRole, ownerPassword, cancellationToken);
            await SetRoleAsync(server, serviceRole, servicePassword, cancellationToken);
            var exists = await ScalarAsync(server, $"SELECT count(*) FROM pg_database WHERE datname = '{database}'", cancellationToken) is > 0L;
            await ExecuteAsync(server, exists ? $"ALTER DATABASE {database} OWNER TO {ownerRole}" : $"CREATE DATABASE {database} OWNER {ownerRole}",
                cancellationToken);
            // The server's own databases are closed to every role but the superuser's, as PinGlass's is to all but its two.
            await ExecuteAsync(server, $"""
                REVOKE ALL ON DATABASE {database} FROM PUBLIC;
                GRANT CONNECT ON DATABASE {database} TO {serviceRole};
                REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
                """, cancellationToken);
        }

        // Before roles, everything was made as the superuser: the owner takes over what it would have made.
        await using var inDatabase = await OpenAsync(superuser, database, cancellationToken);
        await ExecuteAsync(inDatabase, $"""
            ALTER SCHEMA public OWNER TO {ownerRole};
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            DO $$
            DECLARE o record;
            BEGIN
                IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'hangfire') THEN
                    ALTER SCHEMA hangfire OWNER TO {ownerRole};
                END IF;
                FOR o IN SELECT c.relkind, format('%I.%I', n.nspname, c.relname) AS name
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname IN ('public', 'hangfire') AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                           AND pg_get_userbyid(c.relowner) <> '{ownerRole}'
                           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
                    EXECUTE format('ALTER %s %s OWNER TO {ownerRole}',
                        CASE o.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, o.name);
                END LOOP;
            END $$;
            """, cancellationToken);
    }

    /// <summary>
    /// As the owner, once the schemas are current: the services' role reads and writes the rows of every table there is (the journals
    /// of the migrations it only reads) and draws from their sequences.
    /// </summary>
    public static async Task GrantAsync(string owner, string service, CancellationToken cancellationToken)
    {
        var (serviceRole, _, _) = Parse(service);
        await using var connection = await OpenAsync(owner, null, cancellationToken);
        // The journals of what was migrated are the owner's to write: the services may read them.
        await ExecuteAsync(connection, $"""
            GRANT USAGE ON SCHEMA public, hangfire TO {serviceRole};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, hangfire TO {serviceRole};
            REVOKE INSERT, UPDATE, DELETE ON public.{Migrator.JournalTable}, hangfire.schema FROM {serviceRole};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, hangfire TO {serviceRole};
            """, cancellationToken);
    }

    /// <summary>
    /// The password goes to the server as its SCRAM-SHA-256 verifier (RFC 5803, as PostgreSQL stores it), never in clear text: a
    /// statement may end up in the server's log or a trace. Passwords are printable ASCII, which SASLprep leaves as they are.
    /// </summary>
    public static string ScramVerifier(string password, byte[] salt, int iterations = 4096)
    {
        if (!password.All(c => c is > ' ' and < '\u007f'))
        {
            throw new ArgumentException("A role's password is printable ASCII without spaces.", nameof(password));
        }

        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    private static async Task SetRoleAsync(NpgsqlConnection server, string role, string password, CancellationToken cancellationToken)
    {
        if (await ScalarAsync(server, $"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'", cancellationToken) is 0L)
        {
            await ExecuteAsync(server, $"CREATE ROLE {role}", cancellationToken);
        }

        var verifier = ScramVerifier(password, RandomNumberGenerator.GetBytes(16));
        await ExecuteAsync(server, $"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'",
            cancellationToken);
    }

    /// <summary>The role, password and database of a connection string; names are plain identifiers, so they go into statements as they are.</summary>
    private static (string Role, string Password, string Database) Parse(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return builder is { Username: { } role, Password: { Length: > 0 } password, Database: { } database }
               && Identifier().IsMatch(role) && Identifier().IsMatch(database)
            ? (role, password, database)
            : throw new InvalidOperationException("A database role's connection string names its role, password and database (lower-case identifiers).");
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString, string? database, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        if (database is not null)
        {
            builder.Database = database;
        }

        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex Identifier();
}
