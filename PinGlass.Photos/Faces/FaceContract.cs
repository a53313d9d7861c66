using System.Text.Json.Serialization;

namespace PinGlass.Photos.Faces;

/// <summary>The faces service's answer to <c>POST /v1/faces</c>; coordinates are in the pixels that were sent.</summary>
public sealed record FaceAnalysis(
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("elapsedMs")] double ElapsedMs,
    [property: JsonPropertyName("faces")] IReadOnlyList<DetectedFace> Faces);

/// <summary>
/// One face, largest first: detector box and score, the 68 landmarks (iBUG order) and the descriptor (1024 numbers of unit length
/// from the default model, faceres; 128 from face-api), compared by Euclidean distance.
/// </summary>
public sealed record DetectedFace(
    [property: JsonPropertyName("box")] FaceBox Box,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("landmarks")] IReadOnlyList<float[]> Landmarks,
    [property: JsonPropertyName("descriptor")] float[] Descriptor)
{
    public const int LandmarkCount = 68;
    /// <summary>The default model's descriptor length (Human's faceres).</summary>
    public const int DescriptorLength = 1024;

    /// <summary>The same face in an image <paramref name="factor"/> times as large.</summary>
    public DetectedFace Scaled(double factor) => factor == 1 ? this : this with
    {
        Box = Box.Scaled(factor),
        Landmarks = [.. Landmarks.Select(p => new[] { (float)(p[0] * factor), (float)(p[1] * factor) })],
    };
}

public sealed record FaceBox(
    [property: JsonPropertyName("x")] double X,
    [property: JsonPropertyName("y")] double Y,
    [property: JsonPropertyName("width")] double Width,
    [property: JsonPropertyName("height")] double Height)
{
    public double Area => Width * Height;
    public double CenterX => X + Width / 2;
    public double CenterY => Y + Height / 2;

    public FaceBox Scaled(double factor) => new(X * factor, Y * factor, Width * factor, Height * factor);
}

/// <summary>The service's 4xx/5xx body.</summary>
internal sealed record FaceServiceError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("message")] string Message);

[JsonSerializable(typeof(FaceAnalysis))]
[JsonSerializable(typeof(FaceServiceError))]
internal sealed partial class FaceJsonContext : JsonSerializerContext;
