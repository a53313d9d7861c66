using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using PinGlass.Photos.Intake;

namespace PinGlass.Fixtures;

/// <summary>The fixture photographs (provenance in Faces/README.md).</summary>
public static class Samples
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Faces", name);

    public static Image<Rgb24> Astronaut() => Image.Load<Rgb24>(Path("astronaut.png"));

    public static Image<Rgb24> Camera() => Image.Load<Rgb24>(Path("camera.png"));

    /// <summary>
    /// One person's upload made from astronaut.png (crops, flips, exposure, blur, small rotations), then
    /// camera.png (another person), a blank image and a two-face collage. Names say what each is.
    /// </summary>
    public static IReadOnlyList<UploadedPhoto> ReferenceUpload()
    {
        using var astronaut = Astronaut();
        using var camera = Camera();
        var files = new List<UploadedPhoto>();
        void Add(string name, Image<Rgb24> image, string format = "jpeg")
        {
            files.Add(new UploadedPhoto(name, Encode(image, format)));
            image.Dispose();
        }

        files.Add(new UploadedPhoto("astronaut.png", File.ReadAllBytes(Path("astronaut.png"))));
        Add("crop-top-left.jpg", astronaut.Clone(x => x.Crop(new Rectangle(0, 0, 400, 400)).Resize(460, 460)));
        Add("crop-centre.jpg", astronaut.Clone(x => x.Crop(new Rectangle(83, 5, 340, 340)).Resize(600, 600)));
        Add("crop-wide.jpg", astronaut.Clone(x => x.Crop(new Rectangle(0, 0, 512, 380)).Resize(640, 475)));
        Add("mirror.jpg", astronaut.Clone(x => x.Flip(FlipMode.Horizontal)));
        Add("mirror-crop.webp", astronaut.Clone(x => x.Flip(FlipMode.Horizontal).Crop(new Rectangle(60, 0, 420, 420))), "webp");
        Add("brighter.jpg", astronaut.Clone(x => x.Brightness(1.1f)));
        Add("dark.jpg", astronaut.Clone(x => x.Brightness(0.3f)));
        Add("blurred.jpg", astronaut.Clone(x => x.GaussianBlur(1.2f)));
        Add("rotated-left.jpg", astronaut.Clone(x => x.Rotate(-6).Crop(new Rectangle(40, 40, 512, 512))));
        Add("rotated-right.png", astronaut.Clone(x => x.Rotate(6).Crop(new Rectangle(40, 40, 512, 512))), "png");
        Add("crop-low.jpg", astronaut.Clone(x => x.Crop(new Rectangle(30, 60, 452, 452)).Resize(380, 380)));
        files.Add(new UploadedPhoto("camera.png", File.ReadAllBytes(Path("camera.png"))));
        Add("blank.png", new Image<Rgb24>(512, 512, new Rgb24(128, 128, 128)), "png");
        Add("collage.jpg", Collage(astronaut));
        return files;
    }

    /// <summary>
    /// A phone's camera roll of one person made from astronaut.png: <paramref name="count"/> JPEGs of <paramref name="width"/> ×
    /// <paramref name="height"/> (quality 90), the person at different sizes and places, some mirrored, exposure ±15 %, tilted a
    /// degree either way; <paramref name="noisy"/> adds a phone sensor's noise, which makes the files large.
    /// </summary>
    public static IReadOnlyList<UploadedPhoto> PhoneRoll(int count, int width, int height, bool noisy = false)
    {
        using var astronaut = Astronaut();
        var files = new List<UploadedPhoto>();
        for (var i = 0; i < count; i++)
        {
            // Proportions of a 4032 × 3024 roll: the person 2200–2840 px tall, 200 px from the left and 60 px further each photo.
            var side = height * (2200 + i % 5 * 160) / 3024;
            using var canvas = new Image<Rgb24>(width, height, new Rgb24((byte)(90 + i * 5 % 160), 110, 130));
            using var person = astronaut.Clone(x =>
            {
                x.Resize(side, side).Brightness(0.85f + i % 4 * 0.1f);
                if (i % 2 == 1)
                {
                    x.Flip(FlipMode.Horizontal);
                }
            });
            var left = width * (200 + i * 60) / 4032;
            canvas.Mutate(x => x.DrawImage(person, new Point(left, height - side), 1f).Rotate(i % 3 - 1));
            canvas.Mutate(x => x.Crop(new Rectangle((canvas.Width - width) / 2, (canvas.Height - height) / 2, width, height)));
            if (noisy)
            {
                AddSensorNoise(canvas, i);
            }

            using var jpeg = new MemoryStream();
            canvas.SaveAsJpeg(jpeg, new JpegEncoder { Quality = 90 });
            files.Add(new UploadedPhoto($"IMG_{i:D4}.jpg", jpeg.ToArray()));
        }

        return files;
    }

    /// <summary>Two people of the same size side by side: no face is dominant.</summary>
    public static Image<Rgb24> Collage(Image<Rgb24> astronaut)
    {
        var collage = new Image<Rgb24>(1024, 512);
        using var mirror = astronaut.Clone(x => x.Flip(FlipMode.Horizontal));
        collage.Mutate(x => x.DrawImage(astronaut, new Point(0, 0), 1f).DrawImage(mirror, new Point(512, 0), 1f));
        return collage;
    }

    /// <summary>A phone sensor's noise (±24 a channel, seeded): what makes a phone photo's JPEGs large.</summary>
    public static void AddSensorNoise(Image<Rgb24> image, int seed = 7)
    {
        var noise = new Random(seed);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                foreach (ref var pixel in rows.GetRowSpan(y))
                {
                    pixel = new Rgb24(Noisy(pixel.R), Noisy(pixel.G), Noisy(pixel.B));
                }
            }
        });

        byte Noisy(byte value) => (byte)Math.Clamp(value + noise.Next(-24, 25), 0, 255);
    }

    public static byte[] Encode(Image image, string format)
    {
        using var stream = new MemoryStream();
        switch (format)
        {
            case "jpeg":
                image.SaveAsJpeg(stream, new JpegEncoder { Quality = 92 });
                break;
            case "png":
                image.SaveAsPng(stream);
                break;
            case "webp":
                image.SaveAsWebp(stream);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "jpeg, png or webp");
        }

        return stream.ToArray();
    }
}
