using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Intake;

/// <summary>
/// Turns uploaded bytes into upright, metadata-free photos. The format is sniffed from the content; the header's dimensions are
/// checked before any pixel is decoded.
/// </summary>
public sealed partial class PhotoIntake(IOptions<IntakeOptions> options, PhotoMetrics metrics, ILogger<PhotoIntake> logger)
{
    // Only the three formats the product takes: GIF, BMP, TIFF and the rest are refused instead of decoded.
    private static readonly Configuration Formats = new(new JpegConfigurationModule(), new PngConfigurationModule(), new WebpConfigurationModule());

    /// <summary>ISO-BMFF brands of HEIF/HEIC photos (iPhones). AVIF shares the container and is refused the same way.</summary>
    private static readonly HashSet<string> HeifBrands = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"];

    /// <summary>Reads every file of one upload; the whole upload is refused when it has too many files.</summary>
    public IntakeBatch ReadAll(IReadOnlyList<UploadedPhoto> files)
    {
        if (CheckCount(files.Count) is { } error)
        {
            return new IntakeBatch([], error);
        }

        var outcomes = new IntakeOutcome[files.Count];
        // Decoding a 12 MP JPEG is CPU-bound: one file per core.
        Parallel.For(0, files.Count, i => outcomes[i] = Read(files[i]));
        return new IntakeBatch(outcomes, null);
    }

    /// <summary>The upload-wide limit, checked before any file is read.</summary>
    public IntakeError? CheckCount(int count)
    {
        var limit = options.Value.MaxFiles;
        if (count <= limit)
        {
            return null;
        }

        metrics.Refused(IntakeErrorCode.TooManyFiles);
        return new IntakeError("", IntakeErrorCode.TooManyFiles, $"{count} files were sent; at most {limit} are accepted.");
    }

    public IntakeOutcome Read(UploadedPhoto file)
    {
        var error = Check(file);
        if (error is null)
        {
            try
            {
                return IntakeOutcome.Accepted(Decode(file));
            }
            catch (Exception ex) when (ex is ImageFormatException or UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
            {
                error = new IntakeError(file.FileName, IntakeErrorCode.Corrupt, $"The image could not be decoded: {ex.Message}");
            }
        }

        metrics.Refused(error.Code);
        LogRefused(logger, file.FileName, error.Code, error.Message);
        return IntakeOutcome.Refused(error);
    }

    private IntakeError? Check(UploadedPhoto file)
    {
        var limits = options.Value;
        var bytes = file.Content.Span;
        if (bytes.IsEmpty)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.Empty, "The file is empty.");
        }

        if (bytes.Length > limits.MaxBytes)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.TooLarge, $"The file has {bytes.Length} bytes; at most {limits.MaxBytes} are accepted.");
        }

        if (HeifBrand(bytes) is { } brand)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.HeicUnsupported,
                $"HEIC is not supported: the file is an HEIF/HEIC image (brand '{brand}') and no decoder for it is available to PinGlass. Export it as JPEG (on iPhone: Settings › Camera › Formats › Most Compatible) and upload again.");
        }

        var format = Image.DetectFormat(Formats, bytes);
        if (format is null)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.UnsupportedFormat, "The content is not a JPEG, PNG or WebP image.");
        }

        IImageInfo? info;
        try
        {
            using var stream = AsStream(file.Content);
            info = Image.Identify(Formats, stream, out _);
        }
        catch (Exception ex) when (ex is ImageFormatException or InvalidImageContentException)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.Corrupt, $"The {format.Name} header could not be read: {ex.Message}");
        }

        if (info is null)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.Corrupt, $"The {format.Name} header could not be read.");
        }

        if ((long)info.Width * info.Height > limits.MaxPixels)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.TooManyPixels,
                $"The image claims {info.Width}×{info.Height} pixels; at most {limits.MaxPixels} pixels are accepted.");
        }

        if (Math.Min(info.Width, info.Height) < limits.MinSide)
        {
            return new IntakeError(file.FileName, IntakeErrorCode.TooSmall,
                $"The image is {info.Width}×{info.Height}; its shorter side must be at least {limits.MinSide} pixels.");
        }

        // ImageSharp fills a cut-off JPEG or PNG with grey instead of failing; the missing end of the file gives it away.
        if (!IsComplete(format, bytes))
        {
            return new IntakeError(file.FileName, IntakeErrorCode.Corrupt, $"The {format.Name} file is truncated: its end is missing.");
        }

        return null;
    }

    private IntakePhoto Decode(UploadedPhoto file)
    {
        var limits = options.Value;
        var image = DecodeUpright(file.Content, out var format);
        var upright = image.Size();
        var scale = Math.Min(1.0, (double)limits.WorkingMaxSide / Math.Max(image.Width, image.Height));
        if (scale < 1)
        {
            image.Mutate(x => x.Resize((int)Math.Round(image.Width * scale), (int)Math.Round(image.Height * scale)));
        }

        return new IntakePhoto(file.FileName, format.Name.ToLowerInvariant(), upright, image, file.Content);
    }

    /// <summary>Decodes, applies the EXIF orientation, then drops every metadata profile (EXIF with GPS, XMP, IPTC, ICC).</summary>
    internal static Image<Rgb24> DecodeUpright(ReadOnlyMemory<byte> content, out IImageFormat format)
    {
        var image = Image.Load<Rgb24>(Formats, content.Span, out format);
        image.Mutate(x => x.AutoOrient());
        image.Metadata.ExifProfile = null;
        image.Metadata.XmpProfile = null;
        image.Metadata.IptcProfile = null;
        image.Metadata.IccProfile = null;
        foreach (var frame in image.Frames)
        {
            frame.Metadata.ExifProfile = null;
            frame.Metadata.XmpProfile = null;
            frame.Metadata.IptcProfile = null;
            frame.Metadata.IccProfile = null;
        }

        return image;
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    private static string? HeifBrand(ReadOnlySpan<byte> bytes)
    {
        // ISO-BMFF: a 4-byte box size, then "ftyp" and the major brand.
        if (bytes.Length < 12 || BinaryPrimitives.ReadUInt32BigEndian(bytes[4..8]) != 0x66747970)
        {
            return null;
        }

        var brand = System.Text.Encoding.ASCII.GetString(bytes[8..12]);
        return HeifBrands.Contains(brand) ? brand : null;
    }

    private static bool IsComplete(IImageFormat format, ReadOnlySpan<byte> bytes)
    {
        // Cameras may append trailers after the end marker; look for it in the last 64 KB, not only at the very end.
        var tail = bytes[Math.Max(0, bytes.Length - 65_536)..];
        if (format == JpegFormat.Instance)
        {
            return tail.IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) >= 0;
        }

        if (format == PngFormat.Instance)
        {
            return tail.IndexOf("IEND"u8) >= 0;
        }

        // WebP: the RIFF header states the file's length.
        return bytes.Length >= 12 && BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..8]) + 8L <= bytes.Length;
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Photo {FileName} refused at intake ({Code}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string fileName, IntakeErrorCode code, string reason);
}

/// <summary>One upload after intake: an outcome per file, or an error that refused the whole upload.</summary>
public sealed record IntakeBatch(IReadOnlyList<IntakeOutcome> Outcomes, IntakeError? Error);
