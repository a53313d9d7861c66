using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using PinGlass.Platform.Storage;

namespace PinGlass.Generations.Storage;

/// <summary>A generation's files in blob storage: the reference crops sent to the models, and the portraits copied out of Replicate.</summary>
public sealed class GenerationBlobs(BlobServiceClient blobs)
{
    private BlobContainerClient Photos => blobs.GetBlobContainerClient(BlobContainers.Photos);

    private BlobContainerClient Portraits => blobs.GetBlobContainerClient(BlobContainers.Portraits);

    public static string ReferenceName(Guid generationId, int reference) => $"{generationId:N}/reference-{reference}.jpg";

    /// <summary>One blob per attempt: a late answer of an earlier attempt can never overwrite the portrait delivered.</summary>
    public static string PortraitName(Guid generationId, int index, int attempt, string extension) => $"{generationId:N}/{index:00}-{attempt}.{extension}";

    public async Task SaveReferenceAsync(Guid generationId, int reference, byte[] jpeg, CancellationToken cancellationToken) =>
        await Photos.GetBlobClient(ReferenceName(generationId, reference)).UploadAsync(new BinaryData(jpeg),
            new BlobUploadOptions { HttpHeaders = new() { ContentType = "image/jpeg" } }, cancellationToken);

    /// <summary>
    /// Deletes a generation's reference crops and, with <paramref name="portraits"/>, its portraits: every blob under its name, so a file
    /// written by a worker killed before recording it goes too.
    /// </summary>
    public async Task DeleteFilesAsync(Guid generationId, bool portraits, CancellationToken cancellationToken)
    {
        await DeleteUnderAsync(Photos, generationId, cancellationToken);
        if (portraits)
        {
            await DeleteUnderAsync(Portraits, generationId, cancellationToken);
        }
    }

    private static async Task DeleteUnderAsync(BlobContainerClient container, Guid generationId, CancellationToken cancellationToken)
    {
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{generationId:N}/", cancellationToken))
        {
            await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken);
        }
    }

    /// <summary>A reference as the data URL the models take (the crop keeps it within Replicate's 256 kB for data URLs: ProviderCrop).</summary>
    public async Task<string> ReferenceDataUrlAsync(Guid generationId, int reference, CancellationToken cancellationToken)
    {
        var content = await Photos.GetBlobClient(ReferenceName(generationId, reference)).DownloadContentAsync(cancellationToken);
        return "data:image/jpeg;base64," + Convert.ToBase64String(content.Value.Content.ToMemory().Span);
    }

    public async Task SavePortraitAsync(string blobName, BinaryData content, string contentType, CancellationToken cancellationToken) =>
        await Portraits.GetBlobClient(blobName).UploadAsync(content,
            new BlobUploadOptions { HttpHeaders = new() { ContentType = contentType } }, cancellationToken);

    public async Task DeletePortraitAsync(string blobName, CancellationToken cancellationToken) =>
        await Portraits.DeleteBlobIfExistsAsync(blobName, cancellationToken: cancellationToken);

    /// <summary>A stored portrait; null when the blob is gone.</summary>
    public async Task<BlobDownloadStreamingResult?> OpenPortraitAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            return (await Portraits.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
