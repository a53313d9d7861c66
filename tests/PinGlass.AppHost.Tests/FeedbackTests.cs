using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.Fixtures;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Feedback and preferences (#19 item 2), end to end: an end user's feedback on delivered portraits is kept once per kind, like and
/// dislike replace each other, it is the user's own; what it teaches shows at GET /v1/users/{user}/preferences and chooses the styles
/// of a generation that asks for a number of them; an erased generation's feedback goes with it.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class FeedbackTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Feedback_teaches_the_users_preferences_and_chooses_their_next_styles()
    {
        var user = $"taste-{Guid.NewGuid():N}";
        using var client = GenerationClient.For(pinglass.App, user: user);
        var id = await client.StartAsync(("styles", "watercolor,pop-art"));
        GenerationClient.AssertStatus("completed", await client.WaitAsync(id));

        Assert.Equal(["like"], await PostAsync(client, id, 0, "like"));
        Assert.Equal(["like"], await PostAsync(client, id, 0, "like"));
        Assert.Equal(["favourite", "like"], await PostAsync(client, id, 0, "favourite"));
        Assert.Equal(["downloaded", "favourite", "like"], await PostAsync(client, id, 0, "downloaded"));
        // Like and dislike replace each other; a kind sent twice is kept once.
        Assert.Equal(["dislike"], await PostAsync(client, id, 1, "dislike"));
        Assert.Equal(["like"], await PostAsync(client, id, 1, "like"));
        Assert.Equal(["dislike"], await PostAsync(client, id, 1, "dislike"));
        Assert.Equal(["dislike"], await PostAsync(client, id, 1, "dislike"));

        using (var invalid = await client.Api.PostAsJsonAsync($"/v1/generations/{id}/portraits/0/feedback", new { kind = "love" }, Token))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        }

        using (var missing = await client.Api.PostAsJsonAsync($"/v1/generations/{id}/portraits/7/feedback", new { kind = "like" }, Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var stranger = GenerationClient.For(pinglass.App, user: $"stranger-{Guid.NewGuid():N}"))
        using (var notTheirs = await stranger.Api.PostAsJsonAsync($"/v1/generations/{id}/portraits/0/feedback", new { kind = "dislike" }, Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, notTheirs.StatusCode);
        }

        var preferences = await client.Api.GetFromJsonAsync<JsonElement>($"/v1/users/{Uri.EscapeDataString(user)}/preferences", Token);
        var styles = preferences.GetProperty("styles").EnumerateArray().ToList();
        Assert.Equal(23, styles.Count);
        Assert.Equal("watercolor", styles[0].GetProperty("id").GetString());
        Assert.Equal("pop-art", styles[^1].GetProperty("id").GetString());
        var liked = styles[0];
        Assert.Equal(1, liked.GetProperty("user").GetProperty("for").GetInt32());
        Assert.True(liked.GetProperty("low").GetDouble() < liked.GetProperty("mean").GetDouble());
        Assert.Equal(0.2, preferences.GetProperty("explorationShare").GetDouble());

        // Eight styles by preference: each slot is the best left but with probability 0.2 a draw, so the user's best is among them
        // unless all eight slots explore and every draw misses it (under 0.2⁸ ≈ 3·10⁻⁶).
        var next = await client.StartAsync(("styleCount", "8"));
        var portraits = (await client.GetAsync(next)).GetProperty("portraits").EnumerateArray().Select(p => p.GetProperty("style").GetString()).ToList();
        Assert.Equal(8, portraits.Distinct().Count());
        Assert.Contains("watercolor", portraits);
        await client.Api.PostAsync($"/v1/generations/{next}/cancel", null, Token);

        using var both = await client.PostAsync(GenerationClient.OnePhoto, ("styles", "watercolor"), ("styleCount", "2"));
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.Api.DeleteAsync($"/v1/generations/{id}", Token)).StatusCode);
        var forgotten = await client.Api.GetFromJsonAsync<JsonElement>($"/v1/users/{Uri.EscapeDataString(user)}/preferences", Token);
        Assert.All(forgotten.GetProperty("styles").EnumerateArray(), s => Assert.Equal(0, s.GetProperty("user").GetProperty("for").GetInt32()
            + s.GetProperty("user").GetProperty("against").GetInt32()));
    }

    private static async Task<List<string>> PostAsync(GenerationClient client, Guid id, int index, string kind)
    {
        using var response = await client.Api.PostAsJsonAsync($"/v1/generations/{id}/portraits/{index}/feedback", new { kind }, Token);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return [.. body.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()!)];
    }
}
