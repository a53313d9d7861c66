using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Photos.Intake;
using PinGlass.Platform;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using StandardWebhooks;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The hostile-input corpus (#14 item 7): uploads, fields, ids, dates, keys and webhooks as an attacker or a broken client sends
/// them. Each is a clear 4xx problem, and the client that sent it has nothing stored and nothing spent. The cases the other classes
/// already make (21 files, a file over 30 MB, malformed forms, bad fields, missing and revoked keys, unsigned, forged, stale,
/// tampered and oversized webhooks) are not repeated here.
/// </summary>
public sealed class HostileInputTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>What a case is sent with: a fresh client's key, and the account's webhook signer.</summary>
    public sealed record Sender(string Key, StandardWebhook Webhooks);

    /// <param name="Refused">The intake code the refused file carries, for upload cases that reach intake.</param>
    /// <param name="Bare">Refused by Kestrel before the application sees it: a bare 400, without a problem body.</param>
    public sealed record Case(Func<Sender, HttpRequestMessage> Request, HttpStatusCode Status, IntakeErrorCode? Refused = null, bool Bare = false);

    private static readonly Lazy<byte[]> Jpeg = new(() =>
    {
        using var astronaut = Samples.Astronaut();
        return Samples.Encode(astronaut, "jpeg");
    });

    private static readonly Lazy<byte[]> Png = new(() => File.ReadAllBytes(Samples.Path("astronaut.png")));

    private static byte[] Encoded(Action<Image<Rgb24>, Stream> save, int width = 320, int height = 320)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(200, 180, 160));
        using var stream = new MemoryStream();
        save(image, stream);
        return stream.ToArray();
    }

    private static readonly Dictionary<string, Case> Corpus = new()
    {
        // Files: each is refused at intake with its reason, so no photo is usable (a 422 naming it) and nothing is stored.
        ["0-byte file"] = Upload("empty.jpg", [], IntakeErrorCode.Empty),
        ["truncated JPEG"] = Upload("cut.jpg", Jpeg.Value[..(Jpeg.Value.Length * 3 / 5)], IntakeErrorCode.Corrupt),
        ["truncated PNG"] = Upload("cut.png", Png.Value[..(Png.Value.Length / 2)], IntakeErrorCode.Corrupt),
        ["truncated WebP"] = Upload("cut.webp", WebpHalf(), IntakeErrorCode.Corrupt),
        ["JPEG header then noise"] = Upload("noise.jpg", [0xFF, 0xD8, 0xFF, 0xE0, .. RandomBytes(4096), 0xFF, 0xD9], IntakeErrorCode.Corrupt),
        ["GIF"] = Upload("animated.gif", Encoded((i, s) => i.SaveAsGif(s)), IntakeErrorCode.UnsupportedFormat),
        ["BMP"] = Upload("photo.bmp", Encoded((i, s) => i.SaveAsBmp(s)), IntakeErrorCode.UnsupportedFormat),
        ["TIFF"] = Upload("scan.tiff", Encoded((i, s) => i.SaveAsTiff(s)), IntakeErrorCode.UnsupportedFormat),
        ["HEIC"] = Upload("IMG_0001.HEIC", [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8, .. new byte[64]], IntakeErrorCode.HeicUnsupported),
        ["SVG with a script, named .png"] = Upload("face.png", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"u8.ToArray(), IntakeErrorCode.UnsupportedFormat),
        ["HTML named .jpg"] = Upload("face.jpg", "<!doctype html><html><body onload=alert(1)></body></html>"u8.ToArray(), IntakeErrorCode.UnsupportedFormat),
        ["GIF/JavaScript polyglot"] = Upload("poly.jpg", "GIF89a/*\x01\x01\x00\x00*/=alert(1)//;"u8.ToArray(), IntakeErrorCode.UnsupportedFormat),
        ["PNG signature then HTML"] = Upload("poly.png", [.. Png.Value[..8], .. "<html><script>alert(1)</script></html>"u8], IntakeErrorCode.Corrupt),
        ["ZIP named .jpg"] = Upload("archive.jpg", [.. "PK\x03\x04"u8, .. new byte[512]], IntakeErrorCode.UnsupportedFormat),
        ["PNG bomb: 60000×60000 in a few bytes"] = Upload("bomb.png", PngClaiming(60_000, 60_000), IntakeErrorCode.TooManyPixels),
        ["JPEG bomb: 65500×65500 in its header"] = Upload("bomb.jpg", JpegClaiming(65_500, 65_500), IntakeErrorCode.TooManyPixels),
        ["8×8 image"] = Upload("tiny.png", Encoded((i, s) => i.SaveAsPng(s), 8, 8), IntakeErrorCode.TooSmall),
        ["1×4000 sliver"] = Upload("sliver.png", Encoded((i, s) => i.SaveAsPng(s), 1, 4000), IntakeErrorCode.TooSmall),

        // Names and parts: a file's name is a label, never a path; the form's framing is the server's, not the sender's.
        ["path-like file name"] = Upload("../../../../etc/passwd", Encoded((i, s) => i.SaveAsPng(s)), refused: null),
        ["file name with NUL, CR and LF"] = RawForm(Part("photos", "a\0b\r\nX-Injected: 1.png", "x") + "--cut--\r\n", HttpStatusCode.BadRequest),
        ["20 KB file name"] = RawForm(Part("photos", new string('a', 20_000) + ".png", "x") + "--cut--\r\n", HttpStatusCode.BadRequest),
        ["a field of 17 KB"] = Fields(("styles", new string('a', 17_000))),
        ["17 fields"] = Fields([.. Enumerable.Range(0, 17).Select(i => ($"f{i}", "x"))]),
        ["JSON instead of a form"] = Raw("{\"photos\":[]}", "application/json", HttpStatusCode.UnsupportedMediaType),
        ["multipart without a boundary"] = Raw("--cut--\r\n", "multipart/form-data", HttpStatusCode.BadRequest),
        ["a 200-character boundary"] = Raw("--x\r\n", $"multipart/form-data; boundary={new string('b', 200)}", HttpStatusCode.BadRequest),
        ["an empty multipart body"] = Raw("", "multipart/form-data; boundary=cut", HttpStatusCode.BadRequest),

        // Fields: each a 400 naming the field (the others are GenerationPipelineTests').
        ["styles of commas"] = Fields(("styles", ",,,")),
        ["styles empty"] = Fields(("styles", "")),
        ["styles with SQL"] = Fields(("styles", "x'; DROP TABLE generation_jobs;--")),
        ["budget NaN"] = Fields(("budget", "NaN")),
        ["budget 1e400"] = Fields(("budget", "1e400")),
        ["budget in words"] = Fields(("budget", "ten dollars")),
        ["options not JSON"] = Fields(("options", "steps=20")),
        ["options an array"] = Fields(("options", "[1,2,3]")),
        ["options nested 5000 deep"] = Fields(("options", new string('[', 5000) + new string(']', 5000))),
        ["options seed a string"] = Fields(("options", "{\"seed\":\"abc\"}")),
        ["options output format exe"] = Fields(("options", "{\"outputFormat\":\"exe\"}")),
        ["options id weight 1e9"] = Fields(("options", "{\"idWeightScale\":1e9}")),
        ["batchSize negative"] = Fields(("batchSize", "-1")),
        ["batchDelayMs negative"] = Fields(("batchDelayMs", "-5")),
        ["batchDelayMs a trillion"] = Fields(("batchDelayMs", "1000000000000")),

        // Ids and the end user.
        ["generation id not a GUID"] = Get("/v1/generations/not-a-guid", HttpStatusCode.NotFound),
        ["portrait index negative"] = Get($"/v1/generations/{Guid.NewGuid()}/portraits/-1", HttpStatusCode.NotFound),
        ["portrait index past int"] = Get($"/v1/generations/{Guid.NewGuid()}/portraits/2147483648", HttpStatusCode.NotFound),
        ["retry of an unknown generation"] = Send(HttpMethod.Post, $"/v1/generations/{Guid.NewGuid()}/portraits/0/retry", HttpStatusCode.NotFound),
        ["erase an unknown generation"] = Send(HttpMethod.Delete, $"/v1/generations/{Guid.NewGuid()}", HttpStatusCode.NotFound),
        ["no end user"] = Get($"/v1/generations/{Guid.NewGuid()}", HttpStatusCode.BadRequest, user: null),
        ["a 10 KB end user"] = Get($"/v1/generations/{Guid.NewGuid()}", HttpStatusCode.BadRequest, user: new string('u', 10_000)),
        ["an end user with spaces"] = Get($"/v1/generations/{Guid.NewGuid()}", HttpStatusCode.BadRequest, user: "alice smith"),
        ["erase a user with NUL"] = Send(HttpMethod.Delete, "/v1/users/%00", HttpStatusCode.BadRequest) with { Bare = true },
        ["erase a user of 300 characters"] = Send(HttpMethod.Delete, $"/v1/users/{new string('u', 300)}", HttpStatusCode.BadRequest),
        ["erase a user with a space"] = Send(HttpMethod.Delete, "/v1/users/alice%20smith", HttpStatusCode.BadRequest),

        // Dates.
        ["costs from a word"] = Get("/v1/costs?from=yesterday", HttpStatusCode.BadRequest),
        ["costs from month 13"] = Get("/v1/costs?from=2026-13-45", HttpStatusCode.BadRequest),
        ["costs from after to"] = Get("/v1/costs?from=2026-12-02&to=2026-12-01", HttpStatusCode.BadRequest),
        ["costs over ten years"] = Get("/v1/costs?from=2016-01-01&to=2026-01-01", HttpStatusCode.BadRequest),

        // Keys.
        ["a key with a control character"] = Get("/v1/styles", HttpStatusCode.Unauthorized, key: "pgk_\u0001not"),
        ["a key twice"] = Get("/v1/styles", HttpStatusCode.Unauthorized, key: "{key}, Bearer {key}"),

        // Webhooks (signed with the account's secret unless the case is about the signature).
        ["webhook signature not base64"] = Webhook(headers: (id, time, _) => [("webhook-id", id), ("webhook-timestamp", time), ("webhook-signature", "v1,!!!")], HttpStatusCode.Unauthorized),
        ["webhook timestamp a word"] = Webhook(headers: (id, _, signature) => [("webhook-id", id), ("webhook-timestamp", "noon"), ("webhook-signature", signature)], HttpStatusCode.Unauthorized),
        ["webhook without an id"] = Webhook(headers: (_, time, signature) => [("webhook-timestamp", time), ("webhook-signature", signature)], HttpStatusCode.Unauthorized),
        ["webhook body signed but not JSON"] = Webhook(headers: null, HttpStatusCode.BadRequest, body: "status=succeeded"),
    };

    public static TheoryData<string> Names => [.. Corpus.Keys];

    [Fact]
    public void The_corpus_has_at_least_forty_cases() => Assert.True(Corpus.Count >= 40, $"{Corpus.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task A_hostile_request_is_a_clear_4xx_problem_and_nothing_is_stored_or_spent(string name)
    {
        var hostile = Corpus[name];
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, key) = await clients.CreateKeyAsync($"hostile-{Guid.NewGuid():N}", operatorClient: false, Token);
        var clientId = (await clients.AuthenticateAsync(key, Token))!.Id;
        using var api = pinglass.App.CreateHttpClient(ResourceNames.Api);

        using var generations = GenerationClient.For(pinglass.App);
        using var request = hostile.Request(new Sender(key, new StandardWebhook(await generations.WebhookSecretAsync())));
        using var response = await api.SendAsync(request, Token);

        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.True(hostile.Status == response.StatusCode, $"{name}: {(int)response.StatusCode} {body}");
        if (hostile.Bare)
        {
            Assert.Equal("", body);
            return;
        }

        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        if (hostile.Refused is { } code)
        {
            Assert.Contains(problem.GetProperty("refused").EnumerateArray(), r => r.GetProperty("code").GetString() == code.ToString());
        }

        // Nothing stored, nothing spent: the client has no generation (and so no prediction, reservation or file).
        Assert.Equal(0L, (await stores.QueryAsync($"SELECT count(*) FROM generation_jobs WHERE client_id = '{clientId}'", r => r.GetInt64(0))).Single());
        Assert.Equal(0L, (await stores.QueryAsync(
            $"SELECT count(*) FROM predictions p JOIN generation_jobs g ON g.id = p.generation_id WHERE g.client_id = '{clientId}'", r => r.GetInt64(0))).Single());
    }

    private static HttpRequestMessage Authed(HttpMethod method, string path, Sender sender, HttpContent? content = null,
        string? user = ApiClients.User, string? key = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {(key ?? "{key}").Replace("{key}", sender.Key, StringComparison.Ordinal)}");
        if (user is not null)
        {
            request.Headers.TryAddWithoutValidation(EndUsers.Header, user);
        }

        return request;
    }

    private static Case Upload(string fileName, byte[] content, IntakeErrorCode? refused) => new(
        s => Authed(HttpMethod.Post, "/v1/generations", s, GenerationForm.Create([new UploadedPhoto(fileName, content)], [("styles", "professional-headshot")])),
        HttpStatusCode.UnprocessableEntity, refused);

    private static Case Fields(params (string Name, string Value)[] fields)
    {
        // A photo with no face: should a field pass by mistake, the upload still stores nothing (and the status shows it).
        var blank = Encoded((i, s) => i.SaveAsPng(s));
        return new(s => Authed(HttpMethod.Post, "/v1/generations", s, GenerationForm.Create([new UploadedPhoto("blank.png", blank)], fields)),
            HttpStatusCode.BadRequest);
    }

    private static string Part(string name, string fileName, string content) =>
        $"--cut\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{fileName}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n";

    private static Case RawForm(string body, HttpStatusCode status) => Raw(body, "multipart/form-data; boundary=cut", status);

    private static Case Raw(string body, string contentType, HttpStatusCode status) => new(s =>
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return Authed(HttpMethod.Post, "/v1/generations", s, content);
    }, status);

    private static Case Get(string path, HttpStatusCode status, string? user = ApiClients.User, string? key = null) =>
        new(s => Authed(HttpMethod.Get, path, s, user: user, key: key), status);

    private static Case Send(HttpMethod method, string path, HttpStatusCode status) => new(s => Authed(method, path, s), status);

    private const string WebhookBody = """{"id":"hostile-prediction","status":"succeeded","output":["https://replicate.delivery/x.png"]}""";

    /// <param name="headers">The webhook headers from (id, timestamp, a valid signature); null for the three, valid.</param>
    private static Case Webhook(Func<string, string, string, (string Name, string Value)[]>? headers, HttpStatusCode status, string body = WebhookBody) =>
        new(s =>
        {
            var id = $"msg_{Guid.NewGuid():N}";
            var now = DateTimeOffset.UtcNow;
            var time = now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var signature = s.Webhooks.Sign(id, now, body);
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/replicate") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            foreach (var (name, value) in headers?.Invoke(id, time, signature) ?? [("webhook-id", id), ("webhook-timestamp", time), ("webhook-signature", signature)])
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        }, status);

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(14).NextBytes(bytes);
        return bytes;
    }

    private static byte[] WebpHalf()
    {
        using var astronaut = Samples.Astronaut();
        var webp = Samples.Encode(astronaut, "webp");
        return webp[..(webp.Length / 2)];
    }

    /// <summary>A PNG whose header claims <paramref name="width"/> × <paramref name="height"/>, with a few bytes of data.</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        return [.. Png.Value[..8], .. Chunk("IHDR", header), .. Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), .. Chunk("IEND", [])];

        static byte[] Chunk(string type, byte[] data)
        {
            byte[] typed = [.. Encoding.ASCII.GetBytes(type), .. data];
            var chunk = new byte[12 + data.Length];
            BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
            typed.CopyTo(chunk, 4);
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), System.IO.Hashing.Crc32.HashToUInt32(typed));
            return chunk;
        }
    }

    /// <summary>The astronaut's JPEG with its frame header (SOF0) claiming <paramref name="width"/> × <paramref name="height"/>.</summary>
    private static byte[] JpegClaiming(int width, int height)
    {
        var jpeg = Jpeg.Value.ToArray();
        var sof = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), (ushort)width);
        return jpeg;
    }
}
