using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PinGlass.Generations;
using SixLabors.ImageSharp;

namespace PinGlass.Replicate.ContractCheck;

/// <summary>The check's services, wired as the Jobs service wires them: PinGlass's own Replicate client, providers and output copier.</summary>
public static class ContractCheckHost
{
    public static IHost Build(string token, Uri url)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Replicate:ApiToken"] = token,
            ["Replicate:BaseUrl"] = url.AbsoluteUri,
            // Outputs come from replicate.delivery, or from the endpoint itself when it is not Replicate (the emulator).
            [$"{PipelineOptions.Section}:OutputHosts:0"] = "replicate.delivery",
            [$"{PipelineOptions.Section}:OutputHosts:1"] = "*.replicate.delivery",
            [$"{PipelineOptions.Section}:OutputHosts:2"] = url.Host,
        });
        builder.AddReplicate();
        builder.Services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section).ValidateDataAnnotations();
        builder.Services.AddOutputFetcher();
        builder.Services.AddTransient<ContractCheck>();
        return builder.Build();
    }

    /// <summary>The face every check sends: the fixture astronaut as a JPEG data URL (tens of kilobytes, far under Replicate's 256 kB).</summary>
    public static async Task<string> FaceDataUrlAsync()
    {
        using var face = await Image.LoadAsync(Path.Combine(AppContext.BaseDirectory, "astronaut.png"));
        using var jpeg = new MemoryStream();
        await face.SaveAsJpegAsync(jpeg);
        return $"data:image/jpeg;base64,{Convert.ToBase64String(jpeg.ToArray())}";
    }
}
