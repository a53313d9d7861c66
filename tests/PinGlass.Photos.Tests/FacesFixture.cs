using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PinGlass.Photos.Faces;

[assembly: AssemblyFixture(typeof(PinGlass.Photos.Tests.FacesFixture))]

namespace PinGlass.Photos.Tests;

/// <summary>The real Node faces service on a free port and a host with <c>AddPhotos()</c> pointed at it, shared by all tests.</summary>
public sealed class FacesFixture : IAsyncLifetime
{
    private LocalFacesService? faces;
    private IHost? host;

    public IServiceProvider Services => host?.Services ?? throw new InvalidOperationException("The fixture has not started.");

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public async ValueTask InitializeAsync()
    {
        faces = await LocalFacesService.StartAsync(LocalFacesService.FindServiceDirectory(AppContext.BaseDirectory), TimeSpan.FromSeconds(60));
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Photos:Faces:BaseAddress"] = faces.BaseAddress.AbsoluteUri,
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
        });
        builder.AddPhotos();
        host = builder.Build();
        await host.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (host is not null)
        {
            await host.StopAsync();
            host.Dispose();
        }

        if (faces is not null)
        {
            await faces.DisposeAsync();
        }
    }
}
