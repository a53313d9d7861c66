using PinGlass.Fixtures;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Tests;

public sealed class FacesClientTests(FacesFixture fixture)
{
    private readonly FacesClient client = fixture.Get<FacesClient>();

    [Fact]
    public async Task Astronaut_has_one_frontal_face_with_landmarks_and_descriptor()
    {
        using var astronaut = Samples.Astronaut();
        var analysis = await client.AnalyseAsync(astronaut, TestContext.Current.CancellationToken);

        var face = Assert.Single(analysis.Faces);
        Assert.InRange(face.Score, 0.8, 1.0); // BlazeFace gives a clear frontal face 0.85–0.95
        Assert.Equal(DetectedFace.LandmarkCount, face.Landmarks.Count);
        Assert.Equal(DetectedFace.DescriptorLength, face.Descriptor.Length);
        Assert.InRange(face.Box.CenterX, 150, 360);
        Assert.InRange(face.Box.Width, 60, 200);
    }

    [Fact]
    public async Task An_analysis_a_person_waits_for_is_served_before_the_background_ones_queued_ahead_of_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var baseAddress = fixture.Get<Microsoft.Extensions.Options.IOptions<FacesOptions>>().Value.BaseAddress;
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
        var interactive = new FacesClient(http, Microsoft.Extensions.Options.Options.Create(new FacesOptions { BaseAddress = baseAddress, Interactive = true }));
        using var astronaut = Samples.Astronaut();
        var pixels = new byte[astronaut.Width * astronaut.Height * 3];
        astronaut.CopyPixelDataTo(pixels);
        var finished = new System.Collections.Concurrent.ConcurrentQueue<string>();

        // Sixteen identity checks at once (no priority): the workers take two, the rest queue. Each differs in one byte, so none is
        // answered from another's analysis.
        var background = Enumerable.Range(0, 16).Select(async i =>
        {
            await client.AnalyseRawAsync(Distinct(pixels, i), astronaut.Width, astronaut.Height, ct);
            finished.Enqueue("background");
        }).ToList();
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/health", ct)).RootElement.GetProperty("queued").GetInt32() < 10
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, ct);
        }

        // An upload's analysis arrives behind ten or more of them, and is the next a worker takes.
        await interactive.AnalyseRawAsync(Distinct(pixels, 16), astronaut.Width, astronaut.Height, ct);
        finished.Enqueue("interactive");
        await Task.WhenAll(background);

        var after = finished.SkipWhile(f => f != "interactive").Count() - 1;
        Assert.True(after >= 6, $"{after} background analyses finished after the interactive one: {string.Join(", ", finished)}");
    }

    [Fact]
    public async Task The_same_pixels_sent_again_are_answered_from_the_first_analysis_and_other_pixels_are_analysed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = fixture.Get<Microsoft.Extensions.Options.IOptions<FacesOptions>>().Value.BaseAddress };
        using var astronaut = Samples.Astronaut();
        var pixels = new byte[astronaut.Width * astronaut.Height * 3];
        astronaut.CopyPixelDataTo(pixels);
        var mine = Distinct(pixels, 17);
        async Task<System.Text.Json.JsonElement> AnalyseAsync(byte[] rgb)
        {
            using var content = new ByteArrayContent(rgb);
            content.Headers.ContentType = new("application/octet-stream");
            using var response = await http.PostAsync($"/v1/faces?width={astronaut.Width}&height={astronaut.Height}", content, ct);
            response.EnsureSuccessStatusCode();
            return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.Clone();
        }

        var first = await AnalyseAsync(mine);
        var again = await AnalyseAsync(mine);
        var changed = (byte[])mine.Clone();
        changed[^1] ^= 1;
        var other = await AnalyseAsync(changed);

        Assert.False(first.TryGetProperty("cached", out _));
        Assert.True(again.GetProperty("cached").GetBoolean());
        Assert.Equal(first.GetProperty("faces").GetRawText(), again.GetProperty("faces").GetRawText());
        Assert.Equal(first.GetProperty("elapsedMs").GetDouble(), again.GetProperty("elapsedMs").GetDouble());
        Assert.False(other.TryGetProperty("cached", out _));
        Assert.Single(other.GetProperty("faces").EnumerateArray());
    }

    /// <summary>
    /// The same face in pixels no other call sends: the first byte is <paramref name="mark"/> and the second is not the original's,
    /// so the faces service has no answer kept for them.
    /// </summary>
    private static byte[] Distinct(byte[] pixels, int mark)
    {
        var copy = (byte[])pixels.Clone();
        copy[0] = (byte)mark;
        copy[1] ^= 0x55;
        return copy;
    }

    [Fact]
    public async Task Requests_whose_caller_hung_up_leave_the_queue_unanalysed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = fixture.Get<Microsoft.Extensions.Options.IOptions<FacesOptions>>().Value.BaseAddress };
        async Task<System.Text.Json.JsonElement> HealthAsync() =>
            System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/health", ct)).RootElement.Clone();
        var before = (await HealthAsync()).GetProperty("abandoned").GetInt32();

        // Twelve analyses at once against the workers (none answered from an earlier one): most wait in the queue, then their callers
        // give up.
        using var astronaut = Samples.Astronaut();
        var pixels = new byte[astronaut.Width * astronaut.Height * 3];
        astronaut.CopyPixelDataTo(pixels);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var calls = Enumerable.Range(100, 12).Select(async i =>
        {
            using var content = new ByteArrayContent(Distinct(pixels, i));
            content.Headers.ContentType = new("application/octet-stream");
            try
            {
                using var response = await http.PostAsync($"/v1/faces?width={astronaut.Width}&height={astronaut.Height}", content, giveUp.Token);
            }
            catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
            {
            }
        }).ToList();
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while ((await HealthAsync()).GetProperty("queued").GetInt32() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, ct);
        }

        await giveUp.CancelAsync();
        await Task.WhenAll(calls);
        while ((await HealthAsync()).GetProperty("abandoned").GetInt32() == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, ct);
        }

        Assert.True((await HealthAsync()).GetProperty("abandoned").GetInt32() > before);
        Assert.Single((await client.AnalyseAsync(astronaut, ct)).Faces);
    }

    [Fact]
    public async Task Coordinates_come_back_in_the_callers_pixels_when_the_client_downscales()
    {
        using var astronaut = Samples.Astronaut();
        using var large = astronaut.Clone(x => x.Resize(2048, 2048));
        var small = Assert.Single((await client.AnalyseAsync(astronaut, TestContext.Current.CancellationToken)).Faces);
        var big = Assert.Single((await client.AnalyseAsync(large, TestContext.Current.CancellationToken)).Faces);

        Assert.InRange(big.Box.CenterX / small.Box.CenterX, 3.8, 4.2);
        Assert.InRange(Descriptors.Distance(small.Descriptor, big.Descriptor), 0, 0.1);
    }

    [Fact]
    public async Task Astronaut_and_camera_are_different_people_and_a_mirror_is_the_same()
    {
        using var astronaut = Samples.Astronaut();
        using var mirror = astronaut.Clone(x => x.Flip(FlipMode.Horizontal));
        using var camera = Samples.Camera();
        var a = await Descriptor(astronaut);
        var m = await Descriptor(mirror);
        var c = await Descriptor(camera);

        Assert.InRange(Descriptors.Distance(a, m), 0, 0.3);
        Assert.InRange(Descriptors.Distance(a, c), 0.7, 2);
    }

    [Fact]
    public async Task A_blank_image_has_no_face()
    {
        using var blank = new Image<Rgb24>(512, 512, new Rgb24(200, 200, 200));
        Assert.Empty((await client.AnalyseAsync(blank, TestContext.Current.CancellationToken)).Faces);
    }

    [Theory]
    [InlineData(10, 10, 300, "bad_dimensions")]
    [InlineData(64, 64, 100, "bad_length")]
    [InlineData(2000, 2000, 300, "bad_dimensions")]
    public async Task Bad_input_is_refused_with_a_clear_error(int width, int height, int bytes, string code)
    {
        var error = await Assert.ThrowsAsync<FacesServiceException>(() => client.AnalyseRawAsync(new byte[bytes], width, height, TestContext.Current.CancellationToken));
        Assert.Equal(400, error.Status);
        Assert.Equal(code, error.Code);
    }

    [Theory]
    [InlineData("POST", "v1/faces?width=64&height=64", "text/plain", 12_288, 415, "unsupported_media_type")]
    [InlineData("POST", "v1/faces", "application/octet-stream", 12_288, 400, "missing_dimensions")]
    [InlineData("POST", "v1/faces?width=1024&height=1024", "application/octet-stream", 4_000_000, 413, "body_too_large")]
    [InlineData("GET", "v1/faces", null, 0, 405, "method_not_allowed")]
    [InlineData("GET", "v2/anything", null, 0, 404, "not_found")]
    public async Task The_service_answers_misuse_with_json_errors(string method, string path, string? contentType, int bytes, int status, string code)
    {
        using var http = new HttpClient { BaseAddress = fixture.Get<Microsoft.Extensions.Options.IOptions<FacesOptions>>().Value.BaseAddress };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType is not null)
        {
            request.Content = new ByteArrayContent(new byte[bytes]);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    private async Task<float[]> Descriptor(Image<Rgb24> image) =>
        Assert.Single((await client.AnalyseAsync(image, TestContext.Current.CancellationToken)).Faces).Descriptor;
}
