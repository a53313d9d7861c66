using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Platform;
using PinGlass.Generations.Styles;

namespace PinGlass.AppHost.Tests;

public sealed class StylesApiTests(PinGlassApp pinglass)
{
    [Fact]
    public async Task The_api_lists_the_23_styles_in_catalog_order()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor();

        var styles = await http.GetFromJsonAsync<List<Style>>("/v1/styles", TestContext.Current.CancellationToken);

        Assert.Equal(StyleCatalog.Load().All, styles);
    }

    [Fact]
    public async Task An_unknown_style_is_a_404_problem()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor();

        var response = await http.GetAsync("/v1/styles/no-such-style", TestContext.Current.CancellationToken);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Unknown style", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_style_endpoints_and_the_api_key()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Api);

        var document = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json", TestContext.Current.CancellationToken);
        var paths = document.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/v1/styles", out _));
        Assert.True(paths.GetProperty("/v1/styles/{id}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));

        // The API key is a bearer scheme every keyed operation requires; Replicate's webhook receiver, open to its signature, does not.
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        Assert.True(paths.GetProperty("/v1/generations").GetProperty("post").GetProperty("security")[0].TryGetProperty("apiKey", out _));
        Assert.False(paths.GetProperty("/v1/webhooks/replicate").GetProperty("post").TryGetProperty("security", out _));
    }
}
