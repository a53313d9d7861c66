using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace PinGlass.ReplicateEmulator.Files;

/// <param name="Model">The model whose prediction made it (a <c>delivery_error</c> fault names it).</param>
public sealed record DeliveredFile(byte[] Content, string ContentType, string Model);

/// <summary>
/// Output files, served under <c>/delivery/{token}/{name}</c> like replicate.delivery: unguessable, unauthenticated,
/// and gone (404) once the prediction's data is removed.
/// </summary>
public sealed class DeliveryStore
{
    public const string PathPrefix = "/delivery/";

    private readonly ConcurrentDictionary<string, DeliveredFile> files = new(StringComparer.Ordinal);

    /// <summary>A fresh token under which one prediction's outputs are stored.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <returns>The absolute URL of the stored file.</returns>
    public string Add(string baseUrl, string token, string name, DeliveredFile file)
    {
        var path = $"{PathPrefix}{token}/{name}";
        files[path] = file;
        return baseUrl + path;
    }

    public DeliveredFile? Find(string token, string name) => files.GetValueOrDefault($"{PathPrefix}{token}/{name}");

    /// <summary>Finds a file by one of the URLs this store handed out.</summary>
    public DeliveredFile? FindByUrl(Uri url) => files.GetValueOrDefault(url.AbsolutePath);

    /// <summary>The file behind one of this store's URLs as a <c>data:</c> URL, how a blocking create answers with it; null once removed.</summary>
    public string? DataUrl(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && FindByUrl(uri) is { } file
        ? $"data:{file.ContentType};base64,{Convert.ToBase64String(file.Content)}"
        : null;

    public void Remove(IEnumerable<string> urls)
    {
        foreach (var url in urls)
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                files.TryRemove(uri.AbsolutePath, out _);
            }
        }
    }
}
