using System.Text.Json;

namespace PinGlass.Cli.Api;

// What the CLI reads of PinGlass's public API (its OpenAPI document at /openapi/v1.json): only the fields it shows, so a field the
// Api adds later changes nothing here.

/// <summary>The answer to a new generation: its id, the estimate, and what became of each photo.</summary>
public sealed record GenerationCreated(Guid Id, string Status, decimal EstimatedCost, decimal EstimatedCostWithRetries, double EstimatedTimeRemaining,
    IReadOnlyList<PhotoReport> Photos, IReadOnlyList<RefusedFile> Refused);

/// <summary>One photo of the upload: its face, its score, and whether it was chosen as a reference or why it was rejected.</summary>
public sealed record PhotoReport(string FileName, int FaceCount, double Score, PhotoRejection? Rejection, int? Rank, bool Chosen);

public sealed record PhotoRejection(string Reason, string Message);

/// <summary>A file the Api refused before analysing it (too large, not an image, one too many).</summary>
public sealed record RefusedFile(string FileName, string Code, string Message);

/// <summary>A generation as <c>GET /v1/generations/{id}</c> returns it.</summary>
public sealed record GenerationView(Guid Id, string Status, ProgressEvent Progress, decimal Budget, decimal EstimatedCost, decimal CostSoFar,
    bool FallbackUsed, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, IReadOnlyList<PortraitView> Portraits)
{
    public bool IsTerminal => GenerationStatuses.IsTerminal(Status);
}

public sealed record PortraitView(int Index, string Style, string Status, string? Provider, decimal Cost, int Retries, PortraitError? Error,
    string? ImageUrl, IdentityView? Identity, IReadOnlyList<AttemptView> Attempts);

public sealed record PortraitError(string Category, string Message);

public sealed record IdentityView(double? Score, string Reason, bool Flagged);

public sealed record AttemptView(int Attempt, string Provider, string Status);

/// <summary>One event of <c>GET /v1/generations/{id}/events</c> (event <c>progress</c>, id = version).</summary>
public sealed record ProgressEvent(Guid GenerationId, long Version, string Status, int Completed, int Total, int Successful, int Failed,
    double EstimatedTimeRemaining, decimal CostSoFar, PortraitChange? Portrait)
{
    public bool IsTerminal => GenerationStatuses.IsTerminal(Status);
}

public sealed record PortraitChange(int Index, string Status);

public sealed record StyleView(string Id, string Name, string Description);

public sealed record CostMetrics(decimal TotalCost, int ImageCount, decimal AverageCostPerImage, IReadOnlyDictionary<string, decimal> ByModel);

public sealed record DayCosts(DateOnly Day, CostMetrics Costs);

public sealed record CostReport(DateTimeOffset From, DateTimeOffset To, CostMetrics Total, IReadOnlyList<DayCosts> Days);

public sealed record ClientLimits(int? RequestsPerMinute, int? GenerationsPerUser, decimal? DailySpendCap);

public sealed record ApiKeyInfo(Guid Id, string Client, bool Operator, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt, ClientLimits Limits);

/// <summary>A key just made: the only time the Api shows it.</summary>
public sealed record NewKey(ApiKeyInfo Info, string Key);

public static class GenerationStatuses
{
    /// <summary>Every status but these two is an end: completed, completed_with_failures, failed, cancelled.</summary>
    public static bool IsTerminal(string status) => status is not ("queued" or "running");
}

public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
