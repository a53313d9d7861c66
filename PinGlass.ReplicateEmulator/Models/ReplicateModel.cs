using System.Text.Json;
using PinGlass.ReplicateEmulator.Billing;
using PinGlass.ReplicateEmulator.Latency;

namespace PinGlass.ReplicateEmulator.Models;

/// <summary>How a model's output is shaped and which inputs drive the image renderer.</summary>
/// <param name="FaceInputs">Input fields holding face images, the first present one is the source.</param>
/// <param name="ArrayOutput">True when the output is an array of URIs, false for one URI.</param>
/// <param name="DefaultFormat">Output format when the schema has no <c>output_format</c>.</param>
/// <param name="SizedByFace">The output takes the face image's shape, not <c>width</c>/<c>height</c> (instant-id).</param>
public sealed record OutputShape(string[] FaceInputs, bool ArrayOutput, string DefaultFormat, bool SizedByFace = false);

/// <summary>One emulated model with its single published version.</summary>
public sealed record ReplicateModel(
    string Owner,
    string Name,
    string VersionId,
    bool IsOfficial,
    string Description,
    DateTimeOffset VersionCreatedAt,
    JsonElement OpenApiSchema,
    OutputShape Output,
    LatencyProfile Latency,
    Price Price)
{
    public string FullName => $"{Owner}/{Name}";

    public JsonElement InputSchema => OpenApiSchema.GetProperty("components").GetProperty("schemas").GetProperty("Input");

    /// <summary>Official models report <c>hidden</c> as their version unless one was asked for explicitly.</summary>
    public string ReportedVersion(bool versionRequested) => IsOfficial && !versionRequested ? "hidden" : VersionId;
}
