using System.ComponentModel;
using PinGlass.Cli.Api;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli.Commands;

/// <summary>What every command needs to call the Api: where it is, the client application's key, the end user it acts for.</summary>
public class ApiSettings : CommandSettings
{
    public const string ApiVariable = "PINGLASS_API_URL", KeyVariable = "PINGLASS_API_KEY", UserVariable = "PINGLASS_USER";

    [CommandOption("--api <URL>")]
    [Description($"The Api's base URL (default: ${ApiVariable}, else http://localhost:5280, where ./eng/run.sh serves it)")]
    public string? Api { get; init; }

    [CommandOption("--key <KEY>")]
    [Description($"The client application's API key (default: ${KeyVariable}; ./eng/run.sh prints the demo client's)")]
    public string? Key { get; init; }

    [CommandOption("--user <ID>")]
    [Description($"The end user the calls are for (default: ${UserVariable}, else 'cli')")]
    public string? User { get; init; }

    [CommandOption("--json")]
    [Description("Machine-readable output: JSON on standard output, nothing else")]
    public bool Json { get; init; }

    /// <summary>The Api's base URL as given, or from the environment, or where ./eng/run.sh serves it; with a trailing slash.</summary>
    private string ApiText => (Api ?? Environment.GetEnvironmentVariable(ApiVariable) ?? "http://localhost:5280").TrimEnd('/') + "/";

    public Uri ApiUrl => new(ApiText);

    public override ValidationResult Validate()
    {
        if (!Uri.TryCreate(ApiText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return ValidationResult.Error("--api must be an http(s) URL.");
        }

        return string.IsNullOrWhiteSpace(Key ?? Environment.GetEnvironmentVariable(KeyVariable))
            ? ValidationResult.Error($"An API key is needed: --key or ${KeyVariable}.")
            : ValidationResult.Success();
    }

    /// <param name="patience">How long passing trouble (throttles, 502–504, a broken connection) is waited out before giving up.</param>
    public PinGlassApiClient Connect(TimeSpan patience) => PinGlassApiClient.Create(ApiUrl,
        (Key ?? Environment.GetEnvironmentVariable(KeyVariable))!.Trim(),
        User ?? Environment.GetEnvironmentVariable(UserVariable) ?? "cli", patience);
}

/// <summary>A command about one generation.</summary>
public class GenerationSettings : ApiSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The generation's id")]
    public Guid Id { get; init; }
}
