namespace PinGlass.Platform;

/// <summary>
/// The AppHost's resource names. They are also the connection-string keys the services read, so both sides use these.
/// </summary>
public static class ResourceNames
{
    public const string Postgres = "postgres";
    /// <summary>PinGlass's database as the services' role: rows read and written, no schema changed.</summary>
    public const string Database = "pinglass";

    /// <summary>PinGlass's database as the role that owns its schemas: the migrations step's.</summary>
    public const string DatabaseOwner = "pinglass-owner";
    public const string Cache = "cache";
    public const string Blobs = "blobs";
    public const string Replicate = "replicate";
    public const string Faces = "faces";
    public const string Migrations = "migrations";
    public const string Api = "api";
    public const string Jobs = "jobs";
}
