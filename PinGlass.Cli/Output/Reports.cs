using System.Globalization;
using System.Text.Json;
using PinGlass.Cli.Api;
using Spectre.Console;

namespace PinGlass.Cli.Output;

/// <summary>How the CLI shows what the Api answered: tables and lines for people, JSON for scripts.</summary>
public static class Reports
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Usd(decimal usd) => "$" + usd.ToString("0.000", Invariant);

    public static string Seconds(double seconds) => TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds))).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss", Invariant);

    public static void Json<T>(IAnsiConsole console, T value) => console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, ApiJson.Indented));

    /// <summary>One line of JSON: an event of a stream (<c>watch --json</c>).</summary>
    public static void JsonLine<T>(IAnsiConsole console, T value) => console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, ApiJson.Options));

    /// <summary>The quality report: what became of each photo, chosen ones first by rank, then the rejected with their reason.</summary>
    public static void Photos(IAnsiConsole console, IReadOnlyList<PhotoReport> photos, IReadOnlyList<RefusedFile> refused)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Photos[/]")
            .AddColumn("photo").AddColumn(new TableColumn("faces").RightAligned()).AddColumn(new TableColumn("score").RightAligned()).AddColumn("verdict");
        foreach (var photo in photos.OrderBy(p => p.Rank ?? int.MaxValue).ThenBy(p => p.FileName, StringComparer.Ordinal))
        {
            var verdict = photo.Chosen ? $"[green]chosen[/] (#{photo.Rank})"
                : photo.Rejection is { } why ? $"[yellow]not used[/]: {Markup.Escape(why.Message)}"
                : $"usable (#{photo.Rank}), not needed";
            table.AddRow(Markup.Escape(photo.FileName), photo.FaceCount.ToString(Invariant), photo.Score.ToString("0.00", Invariant), verdict);
        }

        foreach (var file in refused)
        {
            table.AddRow(Markup.Escape(file.FileName), "", "", $"[red]refused[/]: {Markup.Escape(file.Message)}");
        }

        console.Write(table);
    }

    /// <summary>Each portrait: style, status, model, cost, identity score and flags.</summary>
    public static void Portraits(IAnsiConsole console, GenerationView view)
    {
        var rows = new List<string[]>();
        foreach (var p in view.Portraits)
        {
            var status = p.Status switch
            {
                "succeeded" => "[green]succeeded[/]",
                "failed" => "[red]failed[/]",
                var other => Markup.Escape(other),
            };
            var identity = p.Identity is { Score: { } score } ? score.ToString("0.00", Invariant) : "";
            var notes = new List<string>();
            if (p.Identity is { Flagged: true } flagged)
            {
                notes.Add($"[yellow]flagged[/] ({Markup.Escape(flagged.Reason)})");
            }

            if (p.Retries > 0)
            {
                notes.Add($"{p.Retries} {(p.Retries == 1 ? "retry" : "retries")}");
            }

            if (p.Error is { } error && p.Status == "failed")
            {
                notes.Add(Markup.Escape($"{error.Category}: {error.Message}"));
            }

            rows.Add([p.Index.ToString(Invariant), Markup.Escape(p.Style), status, Markup.Escape(p.Provider ?? ""), Usd(p.Cost), identity,
                string.Join("; ", notes)]);
        }

        // Notes only when a portrait has one: on an 80-column log the style names are worth the room.
        var withNotes = rows.Any(r => r[^1].Length > 0);
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]Generation {view.Id}[/]: {Markup.Escape(view.Status)}")
            .AddColumn(new TableColumn("#").RightAligned()).AddColumn(new TableColumn("style").NoWrap()).AddColumn("status").AddColumn("model")
            .AddColumn(new TableColumn("cost").RightAligned()).AddColumn(new TableColumn("identity").RightAligned());
        if (withNotes)
        {
            table.AddColumn("notes");
        }

        foreach (var row in rows)
        {
            table.AddRow(withNotes ? row : row[..^1]);
        }

        console.Write(table);
    }

    public static void Summary(IAnsiConsole console, GenerationSummary summary, string? folder)
    {
        var colour = summary.AllDelivered ? "green" : "yellow";
        console.MarkupLine($"[bold {colour}]{Markup.Escape(summary.Status)}[/]: {summary.Delivered}/{summary.Total} portraits"
            + (summary.Failed > 0 ? $", [red]{summary.Failed} failed[/]" : "")
            + (summary.Elapsed is { } elapsed ? $" in {Seconds(elapsed.TotalSeconds)} (upload to last portrait)" : "")
            + (summary.Duration is { } duration ? $", {Seconds(duration.TotalSeconds)} on the server" : ""));
        console.MarkupLine($"cost {Usd(summary.Cost)} (estimate {Usd(summary.Estimate)}, budget {Usd(summary.Budget)})");
        console.MarkupLine(summary.FellBack.Count == 0 ? "no fallback" : $"fallback for portraits {string.Join(", ", summary.FellBack)}");
        console.MarkupLine(summary.Flagged.Count == 0 ? "no identity flagged" : $"[yellow]identity flagged[/] for portraits {string.Join(", ", summary.Flagged)}");
        if (folder is not null)
        {
            console.MarkupLine($"portraits in [link]{Markup.Escape(folder)}[/]");
        }
    }

    /// <summary>What the Api refused or why it could not be reached: for a person, or as JSON.</summary>
    public static void Problem(IAnsiConsole console, ApiProblem problem, bool json)
    {
        if (json)
        {
            Json(console, problem.Body ?? JsonSerializer.SerializeToElement(new { title = problem.Title, detail = problem.Detail }, ApiJson.Options));
            return;
        }

        console.MarkupLine($"[red]{Markup.Escape(problem.Title)}[/]" + (problem.Status is { } status ? $" ({(int)status})" : ""));
        if (problem.Detail is { } detail)
        {
            console.MarkupLine(Markup.Escape(detail));
        }

        foreach (var (field, messages) in problem.Errors)
        {
            console.MarkupLine($"  {Markup.Escape(field)}: {Markup.Escape(string.Join(" ", messages))}");
        }
    }
}
