using System.IO.Compression;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Storage;

/// <summary>
/// A generation's delivered portraits in one zip (<c>NN-style.ext</c>), for "download all": written straight into the response as
/// each blob is read, so nothing is buffered whole in memory or on disk; the images are already compressed (stored, not deflated).
/// </summary>
public sealed class PortraitArchive(PortraitStore portraits, GenerationBlobs blobs)
{
    /// <summary>The portraits that have an image to put in it.</summary>
    public async Task<IReadOnlyList<PortraitRow>> ShownAsync(Guid generationId, CancellationToken cancellationToken) =>
        [.. (await portraits.PortraitsAsync(generationId, cancellationToken)).Where(p => p is { ShowsImage: true })];

    public async Task WriteAsync(IReadOnlyList<PortraitRow> shown, Stream target, CancellationToken cancellationToken)
    {
        await using var zip = new ZipArchive(target, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var portrait in shown)
        {
            // A portrait whose blob went meanwhile (retention, erasure) is left out, not an error.
            if (await blobs.OpenPortraitAsync(portrait.BlobName!, cancellationToken) is not { } blob)
            {
                continue;
            }

            await using var content = blob.Content;
            var entry = zip.CreateEntry($"{portrait.Index:00}-{portrait.StyleId}{Path.GetExtension(portrait.BlobName)}", CompressionLevel.NoCompression);
            await using var written = await entry.OpenAsync(cancellationToken);
            await content.CopyToAsync(written, cancellationToken);
        }
    }
}
