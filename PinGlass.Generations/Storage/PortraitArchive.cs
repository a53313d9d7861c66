using System.IO.Compression;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Storage;

/// <summary>
/// A generation's delivered portraits in one zip (<c>NN-style.ext</c>), for "download all". Written to a temporary file that is deleted
/// when the returned stream closes: the images are already compressed (stored, not deflated), and 23 of up to
/// <c>Pipeline:MaxOutputBytes</c> each are not held in memory.
/// </summary>
public sealed class PortraitArchive(PortraitStore portraits, GenerationBlobs blobs)
{
    /// <summary>The archive, positioned at its start; null when no portrait has an image yet.</summary>
    public async Task<Stream?> OpenAsync(Guid generationId, CancellationToken cancellationToken)
    {
        var shown = (await portraits.PortraitsAsync(generationId, cancellationToken)).Where(p => p is { ShowsImage: true }).ToList();
        if (shown.Count == 0)
        {
            return null;
        }

        var file = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await using (var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var portrait in shown)
                {
                    // A portrait whose blob went meanwhile (retention, erasure) is left out, not an error.
                    if (await blobs.OpenPortraitAsync(portrait.BlobName!, cancellationToken) is not { } blob)
                    {
                        continue;
                    }

                    await using var content = blob.Content;
                    var entry = zip.CreateEntry($"{portrait.Index:00}-{portrait.StyleId}{Path.GetExtension(portrait.BlobName)}", CompressionLevel.NoCompression);
                    await using var target = await entry.OpenAsync(cancellationToken);
                    await content.CopyToAsync(target, cancellationToken);
                }
            }

            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }
}
