using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Files;
using PinGlass.ReplicateEmulator.Http;

namespace PinGlass.ReplicateEmulator.Apis;

/// <summary>The Files API (multipart upload, get, list, delete) and the output file delivery.</summary>
public static class FilesApi
{
    private static readonly JsonElement EmptyMetadata = JsonDocument.Parse("{}").RootElement;

    public static RouteGroupBuilder MapFilesApi(this RouteGroupBuilder v1, long maxFileBytes)
    {
        // Room for the multipart framing around a file of the largest accepted size, so the 413 below is ours, not Kestrel's.
        v1.MapPost("/files", CreateAsync).DisableAntiforgery().WithMetadata(new RequestSizeLimitAttribute(maxFileBytes + (1024 * 1024)));
        v1.MapGet("/files", List);
        v1.MapGet("/files/{id}", Get);
        v1.MapDelete("/files/{id}", Delete);
        return v1;
    }

    /// <summary>Output files under expiring, unauthenticated URLs, like replicate.delivery.</summary>
    public static IEndpointRouteBuilder MapDelivery(this IEndpointRouteBuilder app)
    {
        app.MapGet(DeliveryStore.PathPrefix + "{token}/{file}", Results<FileContentHttpResult, NotFound, StatusCodeHttpResult> (string token, string file,
            DeliveryStore store, FaultInjector faults) =>
            store.Find(token, file) is not { } found ? TypedResults.NotFound()
            : faults.TryFire(FaultKind.DeliveryError, found.Model, $"{token}/{file}") is not null ? TypedResults.StatusCode(StatusCodes.Status503ServiceUnavailable)
            : TypedResults.File(found.Content, found.ContentType));
        return app;
    }

    private static async Task<Results<Created<FileResponse>, ReplicateProblemResult>> CreateAsync(HttpRequest request, FileStore store,
        BaseUrl baseUrl, IOptions<EmulatorOptions> options)
    {
        var max = options.Value.MaxFileBytes;
        if (request.ContentLength > max + (1024 * 1024))
        {
            return ReplicateErrors.FileTooLarge();
        }

        if (!request.HasFormContentType)
        {
            return ReplicateErrors.ValidationFailed([new("required", "(root)", "content is required")]);
        }

        var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
        if (form.Files.GetFile("content") is not { } content)
        {
            return ReplicateErrors.ValidationFailed([new("required", "(root)", "content is required")]);
        }

        if (content.Length > max)
        {
            return ReplicateErrors.FileTooLarge();
        }

        var metadata = EmptyMetadata;
        if (form["metadata"].ToString() is { Length: > 0 } json)
        {
            try
            {
                metadata = JsonDocument.Parse(json).RootElement;
            }
            catch (JsonException)
            {
                return ReplicateErrors.ValidationFailed([new("invalid_type", "metadata", "Invalid type. Expected: object, given: string")]);
            }
        }

        using var buffer = new MemoryStream((int)content.Length);
        await content.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        var name = form["filename"].ToString() is { Length: > 0 } given ? given : content.FileName;
        var type = form["type"].ToString() is { Length: > 0 } declared ? declared : content.ContentType ?? "application/octet-stream";
        var file = store.Add(name, type, buffer.ToArray(), metadata);
        var response = file.ToResponse(baseUrl.For(request));
        return TypedResults.Created(response.Urls.Get, response);
    }

    private static Results<Ok<FileResponse>, ReplicateProblemResult> Get(string id, HttpRequest request, FileStore store, BaseUrl baseUrl) =>
        store.Find(id) is { } file ? TypedResults.Ok(file.ToResponse(baseUrl.For(request))) : ReplicateErrors.NotFound();

    private static Results<NoContent, ReplicateProblemResult> Delete(string id, FileStore store) =>
        store.Delete(id) ? TypedResults.NoContent() : ReplicateErrors.NotFound();

    private static Ok<FilePage> List(HttpRequest request, FileStore store, BaseUrl baseUrl)
    {
        var url = baseUrl.For(request);
        var page = Pagination.Paginate(store.All, f => f.Sequence, request, url);
        return TypedResults.Ok(new FilePage(page.Next, page.Previous, [.. page.Items.Select(f => f.ToResponse(url))]));
    }
}
