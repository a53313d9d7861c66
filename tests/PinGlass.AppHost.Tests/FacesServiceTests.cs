using System.Net;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

public sealed class FacesServiceTests(PinGlassApp pinglass)
{
    [Fact]
    public async Task The_faces_service_starts_healthy_with_its_models_loaded()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        await pinglass.App.ResourceNotifications.WaitForResourceHealthyAsync(ResourceNames.Faces, timeout.Token);
        using var http = pinglass.App.CreateHttpClient(ResourceNames.Faces);

        var response = await http.GetAsync("/health", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // 503 while the models load; ok only once the face model runs on the wasm backend.
        Assert.Contains("\"backend\":\"wasm\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
