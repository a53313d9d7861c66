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
    public async Task The_openapi_document_describes_the_style_endpoints()
    {
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Api);

        var document = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json", TestContext.Current.CancellationToken);
        var paths = document.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/v1/styles", out _));
        Assert.True(paths.GetProperty("/v1/styles/{id}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
    }
}
