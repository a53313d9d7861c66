using PinGlass.Fixtures;
using System.Buffers.Binary;
using System.IO.Compression;
using PinGlass.Photos.Intake;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Tests;

public sealed class IntakeTests(FacesFixture fixture)
{
    private readonly PhotoIntake intake = fixture.Get<PhotoIntake>();

    [Theory]
    [InlineData("jpeg")]
    [InlineData("png")]
    [InlineData("webp")]
    public void Supported_formats_are_accepted_whatever_the_name_and_content_type_say(string format)
    {
        using var astronaut = Samples.Astronaut();
        var bytes = Samples.Encode(astronaut, format);

        using var photo = Accepted(new UploadedPhoto("holiday.gif", bytes, "text/plain"));

        Assert.Equal(format, photo.Format);
        Assert.Equal(new Size(512, 512), photo.UprightSize);
    }

    [Fact]
    public void Text_named_like_a_jpeg_is_refused()
    {
        var error = Refused(new UploadedPhoto("me.jpg", "<html>not a photo</html>"u8.ToArray(), "image/jpeg"));
        Assert.Equal(IntakeErrorCode.UnsupportedFormat, error.Code);
        Assert.Contains("not a JPEG, PNG or WebP", error.Message);
    }

    [Fact]
    public void A_gif_is_refused_even_though_imagesharp_could_read_it()
    {
        using var astronaut = Samples.Astronaut();
        using var gif = new MemoryStream();
        astronaut.SaveAsGif(gif);
        Assert.Equal(IntakeErrorCode.UnsupportedFormat, Refused(new UploadedPhoto("me.png", gif.ToArray(), "image/png")).Code);
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("png")]
    [InlineData("webp")]
    public void A_truncated_file_is_refused(string format)
    {
        using var astronaut = Samples.Astronaut();
        var bytes = Samples.Encode(astronaut, format);
        var error = Refused(new UploadedPhoto("cut." + format, bytes[..(bytes.Length / 2)]));
        Assert.Equal(IntakeErrorCode.Corrupt, error.Code);
    }

    [Fact]
    public void A_decompression_bomb_is_refused_from_its_header_alone()
    {
        var error = Refused(new UploadedPhoto("bomb.png", PngClaiming(50_000, 50_000)));
        Assert.Equal(IntakeErrorCode.TooManyPixels, error.Code);
        Assert.Contains("50000×50000", error.Message);
    }

    [Fact]
    public void A_file_over_the_byte_limit_is_refused_before_it_is_read()
    {
        var error = Refused(new UploadedPhoto("huge.jpg", new byte[30_000_001]));
        Assert.Equal(IntakeErrorCode.TooLarge, error.Code);
    }

    [Fact]
    public void An_empty_file_is_refused() => Assert.Equal(IntakeErrorCode.Empty, Refused(new UploadedPhoto("empty.jpg", Array.Empty<byte>())).Code);

    [Fact]
    public void A_tiny_image_is_refused()
    {
        using var small = new Image<Rgb24>(200, 150);
        Assert.Equal(IntakeErrorCode.TooSmall, Refused(new UploadedPhoto("small.png", Samples.Encode(small, "png"))).Code);
    }

    [Fact]
    public void Too_many_files_refuse_the_whole_upload()
    {
        using var astronaut = Samples.Astronaut();
        var bytes = Samples.Encode(astronaut, "jpeg");
        var batch = intake.ReadAll([.. Enumerable.Range(0, 21).Select(i => new UploadedPhoto($"{i}.jpg", bytes))]);

        Assert.Empty(batch.Outcomes);
        Assert.Equal(IntakeErrorCode.TooManyFiles, batch.Error?.Code);
        Assert.Contains("at most 20", batch.Error?.Message);
    }

    [Fact]
    public void Heic_is_refused_with_a_message_that_says_so()
    {
        // An ISO-BMFF "ftyp" box with the heic brand, as an iPhone writes it.
        byte[] heic = [0, 0, 0, 24, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8, 0, 0, 0, 0];
        var error = Refused(new UploadedPhoto("IMG_0001.jpg", heic, "image/jpeg"));
        Assert.Equal(IntakeErrorCode.HeicUnsupported, error.Code);
        Assert.StartsWith("HEIC is not supported: ", error.Message);
    }

    [Fact]
    public void Gps_and_all_other_metadata_are_gone_after_intake()
    {
        using var astronaut = Samples.Astronaut();
        astronaut.Metadata.ExifProfile = new ExifProfile();
        astronaut.Metadata.ExifProfile.SetValue(ExifTag.GPSLatitude, [new Rational(48, 1), new Rational(51, 1), new Rational(24, 1)]);
        astronaut.Metadata.ExifProfile.SetValue(ExifTag.GPSLatitudeRef, "N");
        astronaut.Metadata.ExifProfile.SetValue(ExifTag.Make, "PhoneCo");
        var bytes = Samples.Encode(astronaut, "jpeg");
        Assert.NotNull(Image.Identify(bytes).Metadata.ExifProfile?.GetValue(ExifTag.GPSLatitude));

        using var photo = Accepted(new UploadedPhoto("gps.jpg", bytes));
        Assert.Null(photo.Working.Metadata.ExifProfile);
        Assert.Null(photo.Working.Metadata.XmpProfile);
        Assert.Null(photo.Working.Metadata.IptcProfile);

        // And what leaves PinGlass, the provider crop, carries none either.
        using var reencoded = new MemoryStream();
        photo.Working.SaveAsJpeg(reencoded);
        Assert.Null(Image.Identify(reencoded.ToArray()).Metadata.ExifProfile);
    }

    [Fact]
    public void Exif_orientation_is_applied()
    {
        using var astronaut = Samples.Astronaut();
        using var wide = astronaut.Clone(x => x.Crop(new Rectangle(0, 0, 512, 300)));
        wide.Metadata.ExifProfile = new ExifProfile();
        wide.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6); // rotate 90° clockwise to view

        using var photo = Accepted(new UploadedPhoto("portrait.jpg", Samples.Encode(wide, "jpeg")));

        Assert.Equal(new Size(300, 512), photo.UprightSize);
        Assert.Equal(new Size(300, 512), photo.Working.Size());
    }

    [Fact]
    public void A_large_photo_is_kept_as_a_bounded_working_copy()
    {
        using var astronaut = Samples.Astronaut();
        using var large = astronaut.Clone(x => x.Resize(4032, 3024));

        using var photo = Accepted(new UploadedPhoto("large.jpg", Samples.Encode(large, "jpeg")));

        Assert.Equal(new Size(4032, 3024), photo.UprightSize);
        Assert.Equal(1536, photo.Working.Width);
    }

    private IntakePhoto Accepted(UploadedPhoto file)
    {
        var outcome = intake.Read(file);
        Assert.Null(outcome.Error);
        return outcome.Photo!;
    }

    private IntakeError Refused(UploadedPhoto file)
    {
        var outcome = intake.Read(file);
        Assert.Null(outcome.Photo);
        return outcome.Error!;
    }

    /// <summary>A valid PNG signature and header claiming <paramref name="width"/>×<paramref name="height"/>, with one tiny data chunk.</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        Chunk(png, "IHDR", header);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(new byte[64 * 1024]);
        }

        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(length, Crc32(typed));
        png.Write(length);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
