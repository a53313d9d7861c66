using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>The Files API, file URLs as inputs, and the model/version lookups.</summary>
public sealed class FilesAndModelsTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private readonly Emulator emulator = fixture.Emulator;

    [Fact]
    public async Task A_file_is_uploaded_read_listed_used_as_input_and_deleted()
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "astronaut.png"), TestContext.Current.CancellationToken);
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "content", "astronaut.png");
        form.Add(new StringContent("""{"user":"u1"}""", new MediaTypeHeaderValue("application/json")), "metadata");

        var upload = await emulator.Client.PostAsync("/v1/files", form, TestContext.Current.CancellationToken);
        var file = await Emulator.ReadAsync(upload);

        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        Contract.OpenApiContract.AssertValid(file, "/files", "post", "201");
        Assert.Equal("astronaut.png", file.GetProperty("name").GetString());
        Assert.Equal(bytes.Length, file.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)), file.GetProperty("etag").GetString());
        Assert.Equal("u1", file.GetProperty("metadata").GetProperty("user").GetString());
        var url = file.GetProperty("urls").GetProperty("get").GetString()!;

        var (got, fetched) = await emulator.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Contract.OpenApiContract.AssertValid(fetched, "/files/{file_id}", "get", "200");
        var (_, list) = await emulator.GetAsync("/v1/files");
        Contract.OpenApiContract.AssertValid(list, "/files", "get", "200");
        Assert.Contains(list.GetProperty("results").EnumerateArray(), f => f.GetProperty("id").GetString() == file.GetProperty("id").GetString());

        var created = await emulator.CreateFluxPulidAsync(new() { ["main_face_image"] = url });
        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());

        var deleted = await emulator.Client.DeleteAsync(url, TestContext.Current.CancellationToken);
        var (gone, _) = await emulator.GetAsync(url);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task An_unreadable_input_file_fails_the_prediction()
    {
        var created = await emulator.CreateFluxPulidAsync(new() { ["main_face_image"] = "data:image/png;base64,bm90IGFuIGltYWdl" });

        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);

        Assert.Equal("failed", done.GetProperty("status").GetString());
        Assert.Equal("cannot identify image file", done.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Models_and_versions_are_served_with_their_input_schema()
    {
        var (modelResponse, model) = await emulator.GetAsync("/v1/models/bytedance/flux-pulid");
        var versionId = model.GetProperty("latest_version").GetProperty("id").GetString()!;
        var (_, version) = await emulator.GetAsync($"/v1/models/bytedance/flux-pulid/versions/{versionId}");
        var (unknown, _) = await emulator.GetAsync("/v1/models/bytedance/flux-pulid/versions/0000");

        Assert.Equal(HttpStatusCode.OK, modelResponse.StatusCode);
        Contract.OpenApiContract.AssertValid(model, "/models/{model_owner}/{model_name}", "get", "200");
        Contract.OpenApiContract.AssertValid(version, "/models/{model_owner}/{model_name}/versions/{version_id}", "get", "200");
        Assert.Equal("8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b", versionId);
        var input = version.GetProperty("openapi_schema").GetProperty("components").GetProperty("schemas").GetProperty("Input");
        Assert.Equal(JsonValueKind.Array, input.GetProperty("required").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
