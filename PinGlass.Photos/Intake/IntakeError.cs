using System.Text.Json.Serialization;

namespace PinGlass.Photos.Intake;

/// <summary>Why intake refused a file or an upload.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IntakeErrorCode>))]
public enum IntakeErrorCode
{
    Empty,
    TooLarge,
    TooManyFiles,
    TooManyPixels,
    TooSmall,
    UnsupportedFormat,
    HeicUnsupported,
    Corrupt,
}

/// <summary>One refused file (or the whole upload, for <see cref="IntakeErrorCode.TooManyFiles"/>), with a message for the user.</summary>
public sealed record IntakeError(string FileName, IntakeErrorCode Code, string Message);
