namespace PinGlass.Replicate.Client;

/// <summary>One entry of a 422's <c>invalid_fields</c> (not RFC 7807; Replicate's own addition).</summary>
public sealed record InvalidField(string? Type, string? Field, string? Description);

/// <summary>
/// A Replicate error body: RFC 7807 problem details (<c>title</c>, <c>detail</c>, <c>status</c>, …) plus <c>invalid_fields</c>
/// on validation errors and <c>retry_after</c> (seconds) on some throttling answers.
/// </summary>
public sealed record ReplicateProblem(
    string? Type = null,
    string? Title = null,
    string? Detail = null,
    int? Status = null,
    string? Instance = null,
    IReadOnlyList<InvalidField>? InvalidFields = null,
    double? RetryAfter = null);
