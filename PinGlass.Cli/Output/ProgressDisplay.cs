using System.Globalization;
using PinGlass.Cli.Api;
using Spectre.Console;

namespace PinGlass.Cli.Output;

/// <summary>
/// Follows a generation's event stream to its end and shows it: on a terminal a live progress bar for the generation and one row per
/// portrait (status, model), with the cost so far and the ETA; elsewhere one line per change; with <c>--json</c>, one JSON line per
/// change (or nothing, when the caller prints one document at the end).
/// </summary>
public static class ProgressDisplay
{
    /// <summary>How often the portraits' models are read again while changes arrive: the events carry statuses only.</summary>
    private static readonly TimeSpan ViewRefresh = TimeSpan.FromSeconds(1);

    public enum Mode { Live, Lines, JsonLines, Quiet }

    public static Mode For(IAnsiConsole console, bool json, bool quietWhenJson) =>
        json ? quietWhenJson ? Mode.Quiet : Mode.JsonLines : console.Profile.Capabilities.Interactive ? Mode.Live : Mode.Lines;

    /// <summary>Returns the generation as it ended.</summary>
    public static async Task<GenerationView> FollowAsync(PinGlassApiClient api, Guid id, IAnsiConsole console, Mode mode, CancellationToken cancellationToken)
    {
        var view = await api.GetAsync(id, cancellationToken);
        if (mode != Mode.Live)
        {
            string? status = null;
            await foreach (var change in api.FollowAsync(id, cancellationToken))
            {
                if (mode == Mode.JsonLines)
                {
                    Reports.JsonLine(console, change);
                }
                else if (mode == Mode.Lines && (change.Status != status || change.Portrait is { Status: not "running" }))
                {
                    // A line a portrait ends, or the generation's status changes: a portrait starting is no news in a log.
                    console.WriteLine(Line(change));
                }

                status = change.Status;
            }

            return await api.GetAsync(id, cancellationToken);
        }

        await console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async progress =>
            {
                var overall = progress.AddTask(Overall(view.Progress), maxValue: Math.Max(1, view.Progress.Total));
                var rows = view.Portraits.ToDictionary(p => p.Index, p => progress.AddTask(Row(p), maxValue: 1));
                void Show(GenerationView current, ProgressEvent change)
                {
                    overall.Description = Overall(change);
                    overall.Value = change.Completed;
                    foreach (var portrait in current.Portraits)
                    {
                        if (rows.TryGetValue(portrait.Index, out var row))
                        {
                            row.Description = Row(portrait);
                            row.Value = portrait.Status is "succeeded" or "failed" or "cancelled" ? 1 : 0;
                        }
                    }
                }

                var read = DateTimeOffset.MinValue;
                await foreach (var change in api.FollowAsync(id, cancellationToken))
                {
                    if (change.IsTerminal || DateTimeOffset.UtcNow - read >= ViewRefresh)
                    {
                        view = await api.GetAsync(id, cancellationToken);
                        read = DateTimeOffset.UtcNow;
                    }

                    Show(view, change);
                }

                view = await api.GetAsync(id, cancellationToken);
                Show(view, view.Progress);
            });
        return view;
    }

    private static string Overall(ProgressEvent change) =>
        $"[bold]{change.Completed}/{change.Total}[/] {Markup.Escape(change.Status)}  cost {Reports.Usd(change.CostSoFar)}"
        + (change.IsTerminal || change.EstimatedTimeRemaining <= 0 ? "" : $"  ETA {Reports.Seconds(change.EstimatedTimeRemaining)}");

    private static string Row(PortraitView p) =>
        $"  {p.Index,2} {Markup.Escape(p.Style),-26} {Markup.Escape(p.Status),-10} {Markup.Escape(p.Provider ?? ""),-18}"
        + (p.Identity is { Flagged: true } ? " [yellow]flagged[/]" : "");

    /// <summary>A change as one line: what a log or a CI job shows.</summary>
    public static string Line(ProgressEvent change) =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:HH:mm:ss} {change.Completed,2}/{change.Total} {change.Status,-10} cost {Reports.Usd(change.CostSoFar)}")
        + (change.IsTerminal || change.EstimatedTimeRemaining <= 0 ? "" : $" ETA {Reports.Seconds(change.EstimatedTimeRemaining)}")
        + (change.Portrait is { } p ? string.Create(CultureInfo.InvariantCulture, $"  portrait {p.Index} {p.Status}") : "");
}
