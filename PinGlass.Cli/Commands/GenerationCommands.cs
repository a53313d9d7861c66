using System.ComponentModel;
using System.Globalization;
using PinGlass.Cli.Api;
using PinGlass.Cli.Output;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli.Commands;

/// <summary><c>pinglass status</c>: the generation now, each portrait and the summary.</summary>
public sealed class StatusCommand(IAnsiConsole console) : ApiCommand<GenerationSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, GenerationSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Json)
        {
            Reports.Json(Console, await api.GetRawAsync(settings.Id, cancellationToken));
            return ExitCodes.Ok;
        }

        var view = await api.GetAsync(settings.Id, cancellationToken);
        Reports.Portraits(Console, view);
        Reports.Summary(Console, GenerationSummary.Of(view, null), null);
        return ExitCodes.Ok;
    }
}

public sealed class WatchSettings : GenerationSettings
{
    [CommandOption("--out <FOLDER>")]
    [Description("Also save the delivered portraits there once it ends")]
    public string? Out { get; init; }
}

/// <summary><c>pinglass watch</c>: follows a generation until it ends (exit code as for <c>generate</c>).</summary>
public sealed class WatchCommand(IAnsiConsole console) : ApiCommand<WatchSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, WatchSettings settings, CancellationToken cancellationToken)
    {
        var ended = await ProgressDisplay.FollowAsync(api, settings.Id, Console, ProgressDisplay.For(Console, settings.Json, quietWhenJson: false), cancellationToken);
        var saved = settings.Out is { } folder ? await GenerateCommand.SaveAsync(api, ended, Path.GetFullPath(folder), cancellationToken) : [];
        var summary = GenerationSummary.Of(ended, null);
        if (!settings.Json)
        {
            Reports.Portraits(Console, ended);
            Reports.Summary(Console, summary, saved.Count > 0 ? Path.GetFullPath(settings.Out!) : null);
        }

        return summary.AllDelivered ? ExitCodes.Ok : ExitCodes.Incomplete;
    }
}

/// <summary><c>pinglass cancel</c>: stops a running generation; what still runs on Replicate is cancelled.</summary>
public sealed class CancelCommand(IAnsiConsole console) : ApiCommand<GenerationSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, GenerationSettings settings, CancellationToken cancellationToken)
    {
        await api.CancelAsync(settings.Id, cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, new { id = settings.Id, cancelling = true });
        }
        else
        {
            Console.MarkupLine($"Generation {settings.Id} is being cancelled: 'pinglass watch {settings.Id}' follows it to its end.");
        }

        return ExitCodes.Ok;
    }
}

public sealed class RetrySettings : GenerationSettings
{
    [CommandArgument(1, "<INDEX>")]
    [Description("The portrait's index (0–22)")]
    public int Index { get; init; }
}

/// <summary><c>pinglass retry</c>: makes one portrait of an ended generation again.</summary>
public sealed class RetryCommand(IAnsiConsole console) : ApiCommand<RetrySettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, RetrySettings settings, CancellationToken cancellationToken)
    {
        await api.RetryAsync(settings.Id, settings.Index, cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, new { id = settings.Id, index = settings.Index, retrying = true });
        }
        else
        {
            Console.MarkupLine($"Portrait {settings.Index} of {settings.Id} is being made again: 'pinglass watch {settings.Id}' follows it.");
        }

        return ExitCodes.Ok;
    }
}

/// <summary><c>pinglass styles</c>: the styles a generation can produce.</summary>
public sealed class StylesCommand(IAnsiConsole console) : ApiCommand<ApiSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, ApiSettings settings, CancellationToken cancellationToken)
    {
        var styles = await api.StylesAsync(cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, styles);
            return ExitCodes.Ok;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("id").AddColumn("name").AddColumn("description");
        foreach (var style in styles)
        {
            table.AddRow(Markup.Escape(style.Id), Markup.Escape(style.Name), Markup.Escape(style.Description));
        }

        Console.Write(table);
        return ExitCodes.Ok;
    }
}

public sealed class CostsSettings : ApiSettings
{
    [CommandOption("--from <DATE>")]
    [Description("ISO 8601 date or instant (UTC when no offset); default: 7 days before --to")]
    public string? From { get; init; }

    [CommandOption("--to <DATE>")]
    [Description("Exclusive end; default: now")]
    public string? To { get; init; }
}

/// <summary><c>pinglass costs</c>: what the client application's predictions cost in a period, day by day and by model.</summary>
public sealed class CostsCommand(IAnsiConsole console) : ApiCommand<CostsSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, CostsSettings settings, CancellationToken cancellationToken)
    {
        var report = await api.CostsAsync(settings.From, settings.To, cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, report);
            return ExitCodes.Ok;
        }

        var days = new Table().Border(TableBorder.Rounded)
            .Title($"Costs {report.From.ToString("u", CultureInfo.InvariantCulture)} – {report.To.ToString("u", CultureInfo.InvariantCulture)}")
            .AddColumn("day").AddColumn(new TableColumn("images").RightAligned()).AddColumn(new TableColumn("cost").RightAligned())
            .AddColumn(new TableColumn("per image").RightAligned());
        foreach (var day in report.Days)
        {
            days.AddRow(day.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), day.Costs.ImageCount.ToString(CultureInfo.InvariantCulture),
                Reports.Usd(day.Costs.TotalCost), Reports.Usd(day.Costs.AverageCostPerImage));
        }

        days.AddRow("[bold]total[/]", report.Total.ImageCount.ToString(CultureInfo.InvariantCulture), $"[bold]{Reports.Usd(report.Total.TotalCost)}[/]",
            Reports.Usd(report.Total.AverageCostPerImage));
        Console.Write(days);
        foreach (var (model, usd) in report.Total.ByModel.OrderByDescending(m => m.Value))
        {
            Console.MarkupLine($"  {Markup.Escape(model)}: {Reports.Usd(usd)}");
        }

        return ExitCodes.Ok;
    }
}
