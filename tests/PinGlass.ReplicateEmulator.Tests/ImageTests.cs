using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Outputs are real images made from the input face: size, format, look, metadata.</summary>
public sealed class ImageTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private readonly Emulator emulator = fixture.Emulator;

    [Theory]
    [InlineData("webp", 320, 480)]
    [InlineData("jpg", 512, 256)]
    [InlineData("png", 256, 256)]
    public async Task Output_has_the_requested_size_and_format_and_the_prediction_id_in_its_metadata(string format, int width, int height)
    {
        var (id, image, bytes) = await GenerateAsync(new() { ["width"] = width, ["height"] = height, ["output_format"] = format });

        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        var decodedFormat = Image.DetectFormat(bytes);
        Assert.Equal(format switch { "webp" => WebpFormat.Instance.Name, "jpg" => JpegFormat.Instance.Name, _ => PngFormat.Instance.Name }, decodedFormat.Name);
        Assert.NotNull(image.Metadata.ExifProfile);
        Assert.Contains(id, image.Metadata.ExifProfile!.GetValue(ExifTag.ImageDescription)?.Value);
    }

    [Fact]
    public async Task A_black_and_white_prompt_gives_a_monochrome_image_and_a_warm_prompt_a_warmer_one()
    {
        var (_, neutral, _) = await GenerateAsync(new() { ["prompt"] = "portrait", ["output_format"] = "png" });
        var (_, mono, _) = await GenerateAsync(new() { ["prompt"] = "black and white portrait", ["output_format"] = "png" });
        var (_, warm, _) = await GenerateAsync(new() { ["prompt"] = "portrait at golden hour, warm light", ["output_format"] = "png" });

        Assert.True(Saturation(neutral) > 0.05, $"the astronaut photo is colourful ({Saturation(neutral)})");
        Assert.True(Saturation(mono) < 0.01, $"monochrome output has colour ({Saturation(mono)})");
        Assert.True(RedOverBlue(warm) > RedOverBlue(neutral) * 1.1);
    }

    [Fact]
    public async Task Flux_kontext_follows_the_aspect_ratio()
    {
        var (response, created) = await emulator.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions",
            new { input = new { prompt = "portrait", input_image = Emulator.SmallFaceDataUrl, aspect_ratio = "16:9", output_format = "jpg" } });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);

        using var image = Image.Load<Rgb24>(await emulator.Anonymous.GetByteArrayAsync(done.GetProperty("output").GetString(), TestContext.Current.CancellationToken));

        Assert.InRange((double)image.Width / image.Height, 16 / 9.0 * 0.97, 16 / 9.0 * 1.03);
    }

    [Theory]
    [InlineData(128, 128, 1280, 1280)]
    [InlineData(300, 400, 960, 1280)]
    [InlineData(900, 500, 1280, 704)]
    public async Task Instant_id_makes_a_jpeg_in_the_references_shape_whatever_width_and_height_say(int faceWidth, int faceHeight, int width, int height)
    {
        // Its cog predict.py: the face image resized (short side 1024, then long side 1280, floored to 64s) is the output's frame, and
        // the result is saved as result.jpg; width and height only size the face detector.
        using var face = Image.Load<Rgb24>(Convert.FromBase64String(Emulator.SmallFaceDataUrl["data:image/png;base64,".Length..]));
        face.Mutate(x => x.Resize(faceWidth, faceHeight));
        var (response, created) = await emulator.PostAsync("/v1/predictions", new
        {
            version = "grandlineai/instant-id-photorealistic:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279",
            input = new { image = "data:image/jpeg;base64," + Convert.ToBase64String(Encode(face)), width = 512, height = 2048 },
        });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);
        var bytes = await emulator.Anonymous.GetByteArrayAsync(done.GetProperty("output").GetString(), TestContext.Current.CancellationToken);

        var info = Image.Identify(bytes);
        Assert.Equal((width, height, JpegFormat.Instance.Name), (info.Width, info.Height, Image.DetectFormat(bytes).Name));
        Assert.EndsWith(".jpg", done.GetProperty("output").GetString(), StringComparison.Ordinal);
    }

    private static byte[] Encode(Image image)
    {
        using var jpeg = new MemoryStream();
        image.SaveAsJpeg(jpeg);
        return jpeg.ToArray();
    }

    private async Task<(string Id, Image<Rgb24> Image, byte[] Bytes)> GenerateAsync(Dictionary<string, object?> input)
    {
        input["main_face_image"] = Emulator.FaceDataUrl();
        var created = await emulator.CreateFluxPulidAsync(input);
        var id = created.GetProperty("id").GetString()!;
        var done = await emulator.WaitForTerminalAsync(id);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        var bytes = await emulator.Anonymous.GetByteArrayAsync(done.GetProperty("output")[0].GetString(), TestContext.Current.CancellationToken);
        return (id, Image.Load<Rgb24>(bytes), bytes);
    }

    /// <summary>Mean of (max − min) channel over pixels, 0 for a grey image.</summary>
    public static double Saturation(Image<Rgb24> image) => Pixels(image).Average(p => (Math.Max(p.R, Math.Max(p.G, p.B)) - Math.Min(p.R, Math.Min(p.G, p.B))) / 255.0);

    private static double RedOverBlue(Image<Rgb24> image) => Pixels(image).Average(p => p.R) / Math.Max(1, Pixels(image).Average(p => p.B));

    public static IEnumerable<Rgb24> Pixels(Image<Rgb24> image)
    {
        for (var y = 0; y < image.Height; y += 4)
        {
            for (var x = 0; x < image.Width; x += 4)
            {
                yield return image[x, y];
            }
        }
    }
}
