using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using PinGlass.Cli.Api;
using PinGlass.Cli.Output;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli.Commands;

public sealed class GenerateSettings : ApiSettings
{
    public static readonly string[] PhotoExtensions = [".jpg", ".jpeg", ".png", ".webp", ".heic"];

    [CommandArgument(0, "<PHOTOS>")]
    [Description("Photos of one person (10–20): files, or folders whose photos (jpg, png, webp, heic) are all sent")]
    public string[] Photos { get; init; } = [];

    [CommandOption("--styles <IDS>")]
    [Description("Comma-separated style ids (see 'pinglass styles'); default: all 23")]
    public string? Styles { get; init; }

    [CommandOption("--budget <USD>")]
    [Description("The most the generation may spend; default: the Api's")]
    public decimal? Budget { get; init; }

    [CommandOption("--out <FOLDER>")]
    [Description("Where the portraits are saved; default: portraits/<generation id>")]
    public string? Out { get; init; }

    [CommandOption("--detach")]
    [Description("Start the generation, print its id and return without waiting for it")]
    public bool Detach { get; init; }

    /// <summary>The files the arguments name, folders read (not recursively) in name order; with what was wrong with the rest.</summary>
    public (IReadOnlyList<FileInfo> Files, IReadOnlyList<string> Errors) Resolve()
    {
        var files = new List<FileInfo>();
        var errors = new List<string>();
        foreach (var path in Photos)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(new DirectoryInfo(path).EnumerateFiles()
                    .Where(f => PhotoExtensions.Contains(f.Extension, StringComparer.OrdinalIgnoreCase))
                    .OrderBy(f => f.Name, StringComparer.Ordinal));
            }
            else if (File.Exists(path))
            {
                files.Add(new FileInfo(path));
            }
            else
            {
                errors.Add($"There is no file or folder '{path}'.");
            }
        }

        if (errors.Count == 0 && files.Count == 0)
        {
            errors.Add("No photos (jpg, png, webp, heic) were found where the arguments point.");
        }

        return (files, errors);
    }
}

/// <summary>
/// <c>pinglass generate</c>: uploads the photos, shows what became of each, follows the generation live, saves the portraits and
/// sums it up. Exits 0 when every portrait was delivered (see <see cref="ExitCodes"/>).
/// </summary>
public sealed class GenerateCommand(IAnsiConsole console) : ApiCommand<GenerateSettings>(console)
{
    /// <summary>An upload the Api cannot analyse now (its queue full) is sent again for up to five minutes.</summary>
    protected override TimeSpan Patience => TimeSpan.FromMinutes(5);

    protected override async Task<int> RunAsync(PinGlassApiClient api, GenerateSettings settings, CancellationToken cancellationToken)
    {
        var (files, errors) = settings.Resolve();
        if (errors.Count > 0)
        {
            foreach (var error in errors)
            {
                Console.MarkupLine($"[red]{Markup.Escape(error)}[/]");
            }

            return ExitCodes.Usage;
        }

        var clock = Stopwatch.StartNew();
        var styles = settings.Styles?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        GenerationCreated created;
        try
        {
            created = settings.Json
                ? await api.StartAsync(files, styles, settings.Budget, cancellationToken)
                : await Console.Status().StartAsync($"Uploading {files.Count} photos ({files.Sum(f => f.Length) / 1024.0 / 1024.0:0.0} MB) and analysing them…",
                    _ => api.StartAsync(files, styles, settings.Budget, cancellationToken));
        }
        catch (ApiProblem problem) when (!settings.Json && PhotosOf(problem) is { } report)
        {
            // Not enough usable photos: which ones, and why, is what the person needs to choose better ones.
            Reports.Photos(Console, report.Photos, report.Refused);
            throw;
        }

        if (!settings.Json)
        {
            Reports.Photos(Console, created.Photos, created.Refused);
            Console.MarkupLine($"Generation [bold]{created.Id}[/] started: estimate {Reports.Usd(created.EstimatedCost)} "
                + $"({Reports.Usd(created.EstimatedCostWithRetries)} with retries), ETA {Reports.Seconds(created.EstimatedTimeRemaining)}");
        }

        if (settings.Detach)
        {
            if (settings.Json)
            {
                Reports.Json(Console, created);
            }

            return ExitCodes.Ok;
        }

        var ended = await ProgressDisplay.FollowAsync(api, created.Id, Console, ProgressDisplay.For(Console, settings.Json, quietWhenJson: true), cancellationToken);
        var folder = Path.GetFullPath(settings.Out ?? Path.Combine("portraits", created.Id.ToString()));
        var saved = await SaveAsync(api, ended, folder, cancellationToken);
        var summary = GenerationSummary.Of(ended, clock.Elapsed);
        if (settings.Json)
        {
            Reports.Json(Console, new { created, summary, files = saved.Select(f => f.FullName) });
        }
        else
        {
            Reports.Portraits(Console, ended);
            Reports.Summary(Console, summary, saved.Count > 0 ? folder : null);
        }

        return summary.AllDelivered ? ExitCodes.Ok : ExitCodes.Incomplete;
    }

    /// <summary>Saves every delivered portrait as <c>NN-style.ext</c>.</summary>
    public static async Task<IReadOnlyList<FileInfo>> SaveAsync(PinGlassApiClient api, GenerationView view, string folder, CancellationToken cancellationToken)
    {
        var saved = new List<FileInfo>();
        foreach (var portrait in view.Portraits.Where(p => p.ImageUrl is not null))
        {
            Directory.CreateDirectory(folder);
            saved.Add(await api.DownloadAsync(portrait.ImageUrl!, Path.Combine(folder, $"{portrait.Index:00}-{portrait.Style}"), cancellationToken));
        }

        return saved;
    }

    /// <summary>The per-photo report a 422 "Not enough usable photos" carries.</summary>
    private static (IReadOnlyList<PhotoReport> Photos, IReadOnlyList<RefusedFile> Refused)? PhotosOf(ApiProblem problem) =>
        problem.Body is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("photos", out var photos)
            ? (photos.Deserialize<List<PhotoReport>>(ApiJson.Options) ?? [],
                body.TryGetProperty("refused", out var refused) ? refused.Deserialize<List<RefusedFile>>(ApiJson.Options) ?? [] : [])
            : null;
}
