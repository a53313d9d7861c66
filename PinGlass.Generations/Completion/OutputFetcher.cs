using Microsoft.Extensions.Options;

namespace PinGlass.Generations.Completion;

/// <summary>A fetched output image and its media type.</summary>
public sealed record FetchedOutput(BinaryData Content, string ContentType, string Extension);

/// <summary>
/// Why an output could not be copied. <paramref name="Passing"/>: trouble that may pass (a 5xx, a throttle, a broken connection, a
/// timeout), so the copy is tried again; otherwise the output is given up and the next provider makes the portrait.
/// </summary>
public sealed class OutputFetchException(string message, bool passing = false) : Exception(message)
{
    public bool Passing { get; } = passing;
}

/// <summary>
/// Copies a prediction's output out of Replicate, which deletes it after an hour. Only allow-listed hosts are fetched (an output URL
/// comes from outside), redirects are not followed, and the size is capped; the content must be an image PinGlass can serve. An
/// output given inline as a base64 <c>data:</c> URL (how Replicate answers a blocking create, replicate-api.md §1.3) is decoded
/// under the same cap and checks, and nothing is fetched.
/// </summary>
public sealed class OutputFetcher(HttpClient http, IOptions<PipelineOptions> options)
{
    public const string HttpClientName = "replicate-outputs";

    public async Task<FetchedOutput> FetchAsync(string url, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return Decode(url, settings.MaxOutputBytes);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !settings.AllowsOutputHost(uri))
        {
            throw new OutputFetchException($"The output URL's host is not allowed (Pipeline:OutputHosts): {(uri?.Host ?? "not a URL")}.");
        }

        try
        {
            return await FetchAsync(uri, settings, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new OutputFetchException($"Fetching the output failed: {e.Message}", passing: true);
        }
    }

    private async Task<FetchedOutput> FetchAsync(Uri uri, PipelineOptions settings, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            throw new OutputFetchException($"Fetching the output answered {status}.", passing: status is >= 500 or 408 or 429);
        }

        if (response.Content.Headers.ContentLength > settings.MaxOutputBytes)
        {
            throw new OutputFetchException($"The output is {response.Content.Headers.ContentLength} bytes; at most {settings.MaxOutputBytes} are copied.");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > settings.MaxOutputBytes)
            {
                throw new OutputFetchException($"The output is larger than {settings.MaxOutputBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        var (contentType, extension) = Sniff(buffer.GetBuffer().AsSpan(0, (int)buffer.Length))
            ?? throw new OutputFetchException($"The output is not a PNG, JPEG or WebP image ({response.Content.Headers.ContentType}).");
        return new FetchedOutput(new BinaryData(buffer.ToArray()), contentType, extension);
    }

    /// <summary>A base64 <c>data:</c> URL's image, held to <paramref name="maxBytes"/> before anything is decoded.</summary>
    internal static FetchedOutput Decode(string url, long maxBytes)
    {
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0 || !url.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw new OutputFetchException("The output is a data URL that is not base64.");
        }

        var payload = url.AsSpan(comma + 1);
        if ((long)payload.Length / 4 * 3 > maxBytes)
        {
            throw new OutputFetchException($"The output is larger than {maxBytes} bytes.");
        }

        var content = new byte[payload.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(payload, content, out var written))
        {
            throw new OutputFetchException("The output is a data URL whose base64 does not decode.");
        }

        var (contentType, extension) = Sniff(content.AsSpan(0, written))
            ?? throw new OutputFetchException($"The output is not a PNG, JPEG or WebP image ({url[5..Math.Min(comma, 60)]}).");
        return new FetchedOutput(new BinaryData(content.AsMemory(0, written)), contentType, extension);
    }

    /// <summary>The image type from the content's signature, never from a header.</summary>
    internal static (string ContentType, string Extension)? Sniff(ReadOnlySpan<byte> content) => content switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => ("image/png", "png"),
        [0xFF, 0xD8, 0xFF, ..] => ("image/jpeg", "jpg"),
        [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50, ..] => ("image/webp", "webp"),
        _ => null,
    };
}
