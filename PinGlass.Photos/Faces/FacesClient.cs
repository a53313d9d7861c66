using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Faces;

/// <summary>Typed client of the Node faces service (PinGlass.Faces): raw RGB pixels in, faces out.</summary>
public sealed class FacesClient(HttpClient http, IOptions<FacesOptions> options)
{
    public const string HttpClientName = "faces";

    /// <summary>Marks an analysis a person waits for: the faces service serves it ahead of background ones.</summary>
    public const string PriorityHeader = "X-Faces-Priority";

    /// <summary>
    /// The faces service down, failing or slow: it may answer later. An image it refused, or one that does not decode, will not change.
    /// </summary>
    public static bool IsUnavailable(Exception e) =>
        e is HttpRequestException or TimeoutException or OperationCanceledException or Polly.ExecutionRejectedException
            or FacesServiceException { Status: >= 500 or 408 or 429 };

    /// <summary>
    /// Analyses <paramref name="image"/>, downscaled to <see cref="FacesOptions.AnalysisMaxSide"/> when larger;
    /// the faces come back in <paramref name="image"/>'s own coordinates.
    /// </summary>
    public async Task<FaceAnalysis> AnalyseAsync(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        var maxSide = options.Value.AnalysisMaxSide;
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(image.Width, image.Height));
        byte[] pixels;
        int width, height;
        if (scale < 1)
        {
            using var small = image.Clone(x => x.Resize(Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale))));
            (pixels, width, height) = (RgbBytes(small), small.Width, small.Height);
        }
        else
        {
            (pixels, width, height) = (RgbBytes(image), image.Width, image.Height);
        }

        var analysis = await AnalyseRawAsync(pixels, width, height, cancellationToken);
        var back = (double)image.Width / width;
        return analysis with { Width = image.Width, Height = image.Height, Faces = [.. analysis.Faces.Select(f => f.Scaled(back))] };
    }

    /// <summary>Sends pixels as they are: <paramref name="rgb"/> holds width × height × 3 bytes, row-major.</summary>
    public async Task<FaceAnalysis> AnalyseRawAsync(byte[] rgb, int width, int height, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/faces?width={width}&height={height}") { Content = new ByteArrayContent(rgb) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (options.Value.Interactive)
        {
            request.Headers.Add(PriorityHeader, "interactive");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new FacesServiceException((int)response.StatusCode, ErrorOf(body));
        }

        return await response.Content.ReadFromJsonAsync(FaceJsonContext.Default.FaceAnalysis, cancellationToken)
            ?? throw new FacesServiceException((int)response.StatusCode, new FaceServiceError("empty_body", "The faces service answered with no body."));
    }

    private static FaceServiceError ErrorOf(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, FaceJsonContext.Default.FaceServiceError) ?? new FaceServiceError("unknown", body);
        }
        catch (JsonException)
        {
            return new FaceServiceError("unknown", body);
        }
    }

    private static byte[] RgbBytes(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }
}

/// <summary>The faces service refused or failed a request; <see cref="Code"/> is its machine-readable error.</summary>
public sealed class FacesServiceException : Exception
{
    internal FacesServiceException(int status, FaceServiceError error)
        : base($"Faces service answered {status} {error.Error}: {error.Message}")
        => (Status, Code) = (status, error.Error);

    public int Status { get; }

    public string Code { get; }
}
