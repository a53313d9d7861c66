using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.ReplicateEmulator.Http;
using PinGlass.ReplicateEmulator.Models;

namespace PinGlass.ReplicateEmulator.Apis;

public sealed record VersionResponse(string Id, DateTimeOffset CreatedAt, string CogVersion, JsonElement OpenapiSchema);

public sealed record ModelResponse(
    string Url,
    string Owner,
    string Name,
    string Description,
    string Visibility,
    string? GithubUrl,
    string? PaperUrl,
    string? LicenseUrl,
    long RunCount,
    string? CoverImageUrl,
    bool IsOfficial,
    VersionResponse LatestVersion);

/// <summary>The model and version lookups the official clients make (replicate-python's run() reads the version's schema).</summary>
public static class ModelsApi
{
    private const string CogVersion = "0.9.25";

    public static RouteGroupBuilder MapModelsApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/models/{owner}/{name}", GetModel);
        v1.MapGet("/models/{owner}/{name}/versions/{versionId}", GetVersion);
        return v1;
    }

    private static Results<Ok<ModelResponse>, ReplicateProblemResult> GetModel(string owner, string name, ModelCatalog catalog) =>
        catalog.Find(owner, name) is { } model
            ? TypedResults.Ok(new ModelResponse($"https://replicate.com/{model.FullName}", model.Owner, model.Name, model.Description, "public",
                null, null, null, 0, null, model.IsOfficial, Version(model)))
            : ReplicateErrors.NotFound();

    private static Results<Ok<VersionResponse>, ReplicateProblemResult> GetVersion(string owner, string name, string versionId, ModelCatalog catalog) =>
        catalog.Find(owner, name) is { } model && string.Equals(model.VersionId, versionId, StringComparison.OrdinalIgnoreCase)
            ? TypedResults.Ok(Version(model))
            : ReplicateErrors.NotFound();

    private static VersionResponse Version(ReplicateModel model) => new(model.VersionId, model.VersionCreatedAt, CogVersion, model.OpenApiSchema);
}
