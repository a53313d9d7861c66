using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PinGlass.ReplicateEmulator.Files;

public sealed record FileChecksums(string Sha256, string Md5);

public sealed record FileUrls(string Get);

/// <summary>The file object of the Files API; <c>name</c> and <c>etag</c> are not in the OpenAPI but replicate-python requires them.</summary>
public sealed record FileResponse(
    string Id,
    string Name,
    string ContentType,
    long Size,
    string Etag,
    FileChecksums Checksums,
    JsonElement Metadata,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    FileUrls Urls);

public sealed record FilePage(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Next,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Previous,
    IReadOnlyList<FileResponse> Results);

public sealed record StoredFile(string Id, long Sequence, string Name, string ContentType, byte[] Content, JsonElement Metadata,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt)
{
    public string Md5 { get; } = Convert.ToHexStringLower(MD5.HashData(Content));

    public string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Content));

    public FileResponse ToResponse(string baseUrl) => new(Id, Name, ContentType, Content.LongLength, Md5, new(Sha256, Md5), Metadata,
        CreatedAt, ExpiresAt, new($"{baseUrl}/v1/files/{Id}"));
}

/// <summary>Uploaded files, kept in memory until they expire (24 h of Replicate time, as observed on the real API).</summary>
public sealed class FileStore(Clock clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly ConcurrentDictionary<string, StoredFile> files = new(StringComparer.Ordinal);
    private long sequence;

    public StoredFile Add(string name, string contentType, byte[] content, JsonElement metadata)
    {
        var now = clock.UtcNow;
        // Replicate's file ids are the base64 of a UUID string.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(Guid.NewGuid().ToString()));
        var file = new StoredFile(id, Interlocked.Increment(ref sequence), name, contentType, content, metadata, now, now + clock.ToWall(Lifetime));
        files[id] = file;
        return file;
    }

    public StoredFile? Find(string id)
    {
        if (!files.TryGetValue(id, out var file))
        {
            return null;
        }

        if (file.ExpiresAt > clock.UtcNow)
        {
            return file;
        }

        files.TryRemove(id, out _);
        return null;
    }

    public bool Delete(string id) => files.TryRemove(id, out _);

    public IEnumerable<StoredFile> All => files.Values.Where(f => f.ExpiresAt > clock.UtcNow);
}
