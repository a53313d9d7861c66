using Microsoft.Extensions.Options;

namespace PinGlass.ReplicateEmulator.Http;

/// <summary>The absolute base put into every URL the emulator hands out: PublicBaseUrl, else the request's own origin.</summary>
public sealed class BaseUrl(IOptions<EmulatorOptions> options)
{
    private readonly string? configured = string.IsNullOrWhiteSpace(options.Value.PublicBaseUrl) ? null : options.Value.PublicBaseUrl.TrimEnd('/');

    public string For(HttpRequest request) => configured ?? $"{request.Scheme}://{request.Host}{request.PathBase}";
}
