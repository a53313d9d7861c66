using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Photos.Intake;

/// <summary>
/// An accepted photo: the upright working copy (metadata removed, longest side bounded) and the original bytes, from which
/// the provider crop is cut at full resolution. Nothing here carries the uploaded EXIF, GPS, XMP or IPTC data.
/// </summary>
public sealed class IntakePhoto(string fileName, string format, Size uprightSize, Image<Rgb24> working, ReadOnlyMemory<byte> source) : IDisposable
{
    public string FileName { get; } = fileName;

    /// <summary>The format sniffed from the content: <c>jpeg</c>, <c>png</c> or <c>webp</c>.</summary>
    public string Format { get; } = format;

    /// <summary>The original's size after EXIF orientation.</summary>
    public Size UprightSize { get; } = uprightSize;

    public Image<Rgb24> Working { get; } = working;

    internal ReadOnlyMemory<byte> Source { get; } = source;

    /// <summary>Working copy pixels per original pixel.</summary>
    public double WorkingScale => (double)Working.Width / UprightSize.Width;

    public void Dispose() => Working.Dispose();
}

/// <summary>Either an accepted photo or the reason it was refused.</summary>
public sealed record IntakeOutcome(IntakePhoto? Photo, IntakeError? Error)
{
    public static IntakeOutcome Accepted(IntakePhoto photo) => new(photo, null);

    public static IntakeOutcome Refused(IntakeError error) => new(null, error);
}

/// <summary>An uploaded file as received; its name and Content-Type are kept for messages only, never trusted.</summary>
public sealed record UploadedPhoto(string FileName, ReadOnlyMemory<byte> Content, string? ContentType = null);
