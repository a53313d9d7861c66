using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Photos.Intake;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The upload read part by part (#14 item 3): the file count and each file's size are checked as the parts arrive, and every file
/// past a limit is refused with its reason; nothing is stored for an upload that cannot be used.
/// </summary>
public sealed class UploadLimitsTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Twenty_one_files_are_a_400_naming_the_one_not_read_and_nothing_is_stored()
    {
        var (owned, clientId) = await NewClientAsync();
        using var client = owned;
        var photo = GenerationClient.OnePhoto[0];
        var files = Enumerable.Range(1, 21).Select(i => photo with { FileName = $"photo-{i:00}.png" }).ToList();

        using var response = await client.PostAsync(files, ("styles", "professional-headshot"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.Equal("Send 1–20 photos of yourself as files; 21 were sent.", problem.GetProperty("errors").GetProperty("photos")[0].GetString());
        var refused = Assert.Single(problem.GetProperty("refused").EnumerateArray());
        Assert.Equal(("photo-21.png", nameof(IntakeErrorCode.TooManyFiles)), (refused.GetProperty("fileName").GetString(), refused.GetProperty("code").GetString()));
        Assert.Equal(0L, await GenerationsOfAsync(clientId));
    }

    [Fact]
    public async Task A_file_over_the_size_limit_is_refused_with_its_reason_while_the_others_are_read()
    {
        var (owned, clientId) = await NewClientAsync();
        using var client = owned;
        // 30 MB and a byte, then a blank image: the big one is read through and dropped, the blank one analysed (and not usable).
        var big = new UploadedPhoto("huge.jpg", new byte[30_000_001]);
        var blank = GenerationClient.Photos.Single(p => p.FileName.StartsWith("blank", StringComparison.Ordinal));

        using var response = await client.PostAsync([big, blank], ("styles", "professional-headshot"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        var refused = Assert.Single(problem.GetProperty("refused").EnumerateArray());
        Assert.Equal(("huge.jpg", nameof(IntakeErrorCode.TooLarge)), (refused.GetProperty("fileName").GetString(), refused.GetProperty("code").GetString()));
        Assert.Equal(blank.FileName, Assert.Single(problem.GetProperty("photos").EnumerateArray()).GetProperty("fileName").GetString());
        Assert.Equal(0L, await GenerationsOfAsync(clientId));
    }

    [Theory]
    [InlineData("--cut\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.png\"\r\n\r\nshort, and never ended")]
    [InlineData("--cut\r\nContent-Disposition: attachment; filename=\"a.png\"\r\n\r\nx\r\n--cut--\r\n")]
    [InlineData("--cut\r\nContent-Disposition: form-data; name=\"styles\"\r\n\r\nprofessional-headshot\r\n--cut--\r\n")]
    public async Task A_body_that_is_not_a_usable_form_is_a_400_and_nothing_is_stored(string body)
    {
        var (owned, clientId) = await NewClientAsync();
        using var client = owned;
        using var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=cut");

        using var response = await client.Api.PostAsync("/v1/generations", content, Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0L, await GenerationsOfAsync(clientId));
    }

    /// <summary>A client of its own, so what it stored can be counted.</summary>
    private async Task<(GenerationClient Client, Guid Id)> NewClientAsync()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, key) = await clients.CreateKeyAsync($"upload-test-{Guid.NewGuid():N}", operatorClient: false, Token);
        return (GenerationClient.For(pinglass.App, key), (await clients.AuthenticateAsync(key, Token))!.Id);
    }

    private async Task<long> GenerationsOfAsync(Guid clientId)
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        return (await stores.QueryAsync($"SELECT count(*) FROM generation_jobs WHERE client_id = '{clientId}'", r => r.GetInt64(0))).Single();
    }
}
