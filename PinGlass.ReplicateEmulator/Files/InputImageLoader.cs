using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using PinGlass.ReplicateEmulator.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Files;

/// <summary>An input file the model could not read; the prediction fails with this message, as a model would.</summary>
public sealed class InputFileException(string message) : Exception(message);

/// <summary>
/// Loads an image input the ways Replicate accepts it: a data URL, a Files API URL, an output URL of an earlier
/// prediction, or any other HTTP(S) URL. Decoded images are cached (shrunk, never mutated) because a generation
/// sends the same face many times.
/// </summary>
public sealed class InputImageLoader(FileStore files, DeliveryStore deliveries, IHttpClientFactory httpClients) : IDisposable
{
    public const string HttpClientName = "inputs";
    private const int MaxSide = 1536;

    private readonly MemoryCache cache = new(new MemoryCacheOptions { SizeLimit = 64 });

    public async Task<Image<Rgb24>> LoadAsync(string value, CancellationToken cancellationToken)
    {
        var key = CacheKey(value);
        if (cache.TryGetValue(key, out Image<Rgb24>? cached) && cached is not null)
        {
            return cached;
        }

        var bytes = await ReadAsync(value, cancellationToken);
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(ImageRenderer.Sequential, bytes);
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException)
        {
            throw new InputFileException("cannot identify image file");
        }

        if (Math.Max(image.Width, image.Height) > MaxSide)
        {
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(MaxSide, MaxSide), Mode = ResizeMode.Max }));
        }

        cache.Set(key, image, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(10) });
        return image;
    }

    private async Task<byte[]> ReadAsync(string value, CancellationToken cancellationToken)
    {
        if (value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = value.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !value.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new InputFileException("Invalid data URL: only base64 data URLs are supported");
            }

            try
            {
                return Convert.FromBase64String(value[(comma + 1)..]);
            }
            catch (FormatException)
            {
                throw new InputFileException("Invalid data URL: the base64 payload cannot be decoded");
            }
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new InputFileException($"Failed to download {value}: not an HTTP(S) or data URL");
        }

        var segments = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments is ["v1", "files", var id] && files.Find(id) is { } file)
        {
            return file.Content;
        }

        if (deliveries.FindByUrl(url) is { } delivered)
        {
            return delivered.Content;
        }

        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).GetAsync(url, cancellationToken);
            return response.IsSuccessStatusCode
                ? await response.Content.ReadAsByteArrayAsync(cancellationToken)
                : throw new InputFileException($"Failed to download {url}: HTTP {(int)response.StatusCode}");
        }
        catch (HttpRequestException e)
        {
            throw new InputFileException($"Failed to download {url}: {e.Message}");
        }
    }

    private static string CacheKey(string value) => value.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
        ? Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)))
        : value;

    public void Dispose() => cache.Dispose();
}
