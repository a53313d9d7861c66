using System.Net;
using System.Text.Json;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Each model's input is validated against its published schema, and its output has the published shape.</summary>
public sealed class ModelInputTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private readonly Emulator emulator = fixture.Emulator;

    public static TheoryData<string, string, string> InvalidInputs => new()
    {
        // model path or version, input JSON, expected invalid_fields as "type field description" lines
        { Emulator.FluxPulid, """{"width": 5000, "output_format": "gif", "num_outputs": "2"}""",
            "required input main_face_image is required\nnumber_lte input.width Must be less than or equal to 1536\n" +
            "enum input.output_format output_format must be one of the following: \"png\", \"jpg\", \"webp\"\n" +
            "invalid_type input.num_outputs Invalid type. Expected: integer, given: string" },
        { Emulator.FluxPulid, """{"main_face_image": "face.png", "guidance_scale": 0.5, "start_step": 11, "seed": 1.5}""",
            "format input.main_face_image Does not match format 'uri'\nnumber_gte input.guidance_scale Must be greater than or equal to 1\n" +
            "number_lte input.start_step Must be less than or equal to 10\ninvalid_type input.seed Invalid type. Expected: integer, given: number" },
        { "black-forest-labs/flux-kontext-pro", """{"prompt": "x", "aspect_ratio": "7:3", "safety_tolerance": 7}""",
            "enum input.aspect_ratio aspect_ratio must be one of the following: \"match_input_image\", \"1:1\", \"16:9\", \"9:16\", \"4:3\", \"3:4\", \"3:2\", \"2:3\", \"4:5\", \"5:4\", \"21:9\", \"9:21\", \"2:1\", \"1:2\"\n" +
            "number_lte input.safety_tolerance Must be less than or equal to 6" },
        { "black-forest-labs/flux-kontext-pro", """{"input_image": "https://example.com/a.png", "prompt_upsampling": "yes"}""",
            "required input prompt is required\ninvalid_type input.prompt_upsampling Invalid type. Expected: boolean, given: string" },
        { "grandlineai/instant-id-photorealistic:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279", """{"width": 256, "ip_adapter_scale": 1.5}""",
            "required input image is required\nnumber_gte input.width Must be greater than or equal to 512\nnumber_lte input.ip_adapter_scale Must be less than or equal to 1" },
        { "mattheum/flux-multi-pulid-controlnet:73a2c5ab8fbf6f29278a0285d6c6282ce61baefce9def279d91223541903687e", """{"num_steps": 26, "width": 2048, "image2image_strength": 1.5}""",
            "number_lte input.num_steps Must be less than or equal to 25\nnumber_lte input.width Must be less than or equal to 1536\nnumber_lte input.image2image_strength Must be less than or equal to 1" },
    };

    [Theory]
    [MemberData(nameof(InvalidInputs))]
    public async Task Invalid_input_is_422_with_every_invalid_field(string model, string input, string expected)
    {
        var (response, body) = await CreateAsync(model, JsonDocument.Parse(input).RootElement);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Input validation failed", body.GetProperty("title").GetString());
        var fields = body.GetProperty("invalid_fields").EnumerateArray()
            .Select(f => $"{f.GetProperty("type").GetString()} {f.GetProperty("field").GetString()} {f.GetProperty("description").GetString()}");
        Assert.Equal(expected.Split('\n'), fields);
    }

    [Fact]
    public async Task A_data_url_over_256_kB_is_refused_naming_the_field()
    {
        // The OpenAPI document: a data URL for a file of 256 kB or less, an HTTP URL for a larger one (#15 item 2).
        var prefix = "data:image/jpeg;base64,";
        var longest = prefix + new string('A', Models.InputValidator.MaxDataUrlLength - prefix.Length);

        var (over, body) = await CreateAsync(Emulator.FluxPulid, JsonSerializer.SerializeToElement(new { main_face_image = longest + "A" }));
        var (within, _) = await CreateAsync(Emulator.FluxPulid, JsonSerializer.SerializeToElement(new { main_face_image = longest, width = 256, height = 256 }));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, over.StatusCode);
        var field = Assert.Single(body.GetProperty("invalid_fields").EnumerateArray());
        Assert.Equal(("data_url_too_large", "input.main_face_image"), (field.GetProperty("type").GetString(), field.GetProperty("field").GetString()));
        Assert.Equal(HttpStatusCode.Created, within.StatusCode); // accepted; its bytes are no image, so the prediction then fails
    }

    [Fact]
    public async Task A_webp_request_to_flux_kontext_pro_gets_the_recorded_422_body()
    {
        var (_, body) = await CreateAsync("black-forest-labs/flux-kontext-pro", JsonSerializer.SerializeToElement(new { prompt = "x", output_format = "webp" }));

        Assert.Equal("""{"title":"Input validation failed","detail":"- input.output_format: output_format must be one of the following: \"jpg\", \"png\"\n","status":422,"invalid_fields":[{"type":"enum","field":"input.output_format","description":"output_format must be one of the following: \"jpg\", \"png\""}]}""",
            body.GetRawText());
    }

    public static TheoryData<string, string, bool> ValidInputs => new()
    {
        { Emulator.FluxPulid, """{"main_face_image": "FACE", "width": 256, "height": 320, "num_outputs": 2, "output_format": "png"}""", true },
        { "black-forest-labs/flux-kontext-pro", """{"prompt": "make it a studio portrait", "input_image": "FACE", "aspect_ratio": "1:1"}""", false },
        { "grandlineai/instant-id-photorealistic:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279", """{"image": "FACE", "width": 512, "height": 512}""", false },
        { "mattheum/flux-multi-pulid-controlnet:73a2c5ab8fbf6f29278a0285d6c6282ce61baefce9def279d91223541903687e", """{"id_one_image": "FACE", "width": 256, "height": 256}""", true },
    };

    [Theory]
    [MemberData(nameof(ValidInputs))]
    public async Task Valid_input_succeeds_with_output_of_the_published_shape(string model, string input, bool arrayOutput)
    {
        var (response, created) = await CreateAsync(model, JsonDocument.Parse(input.Replace("FACE", Emulator.SmallFaceDataUrl, StringComparison.Ordinal)).RootElement);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);

        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        var output = done.GetProperty("output");
        Assert.Equal(arrayOutput ? JsonValueKind.Array : JsonValueKind.String, output.ValueKind);
        var urls = arrayOutput ? output.EnumerateArray().Select(o => o.GetString()!).ToArray() : [output.GetString()!];
        foreach (var url in urls)
        {
            var download = await emulator.Anonymous.GetAsync(url, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        }
    }

    [Fact]
    public async Task Kontext_pro_fails_a_safety_tolerance_over_2_with_an_input_image_that_its_schema_range_allows()
    {
        // Its schema's range is 0–6, and its description: "2 is currently the maximum allowed when input images are used".
        async Task<JsonElement> RunAsync(object input)
        {
            var (response, created) = await CreateAsync("black-forest-labs/flux-kontext-pro", JsonSerializer.SerializeToElement(input));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);
        }

        var refused = await RunAsync(new { prompt = "a studio portrait", input_image = Emulator.SmallFaceDataUrl, safety_tolerance = 6 });
        Assert.Equal("failed", refused.GetProperty("status").GetString());
        Assert.Contains("2 is the maximum when input images are used", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("succeeded", (await RunAsync(new { prompt = "a studio portrait", input_image = Emulator.SmallFaceDataUrl, safety_tolerance = 2 }))
            .GetProperty("status").GetString());
        Assert.Equal("succeeded", (await RunAsync(new { prompt = "a studio portrait", safety_tolerance = 6 })).GetProperty("status").GetString());
    }

    private Task<(HttpResponseMessage, JsonElement)> CreateAsync(string model, JsonElement input) => model.Contains(':', StringComparison.Ordinal)
        ? emulator.PostAsync("/v1/predictions", new { version = model, input })
        : emulator.PostAsync($"/v1/models/{model}/predictions", new { input });
}
