using System.ComponentModel;
using System.Globalization;
using PinGlass.Cli.Api;
using PinGlass.Cli.Output;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli.Commands;

// pinglass keys …: the operators' management of client applications' keys, with an operator client's key.

public sealed class CreateKeySettings : ApiSettings
{
    [CommandArgument(0, "<CLIENT>")]
    [Description("The client application's name (created if new)")]
    public string Client { get; init; } = "";

    [CommandOption("--operator")]
    [Description("An operator client: sees the company's costs and manages keys")]
    public bool Operator { get; init; }
}

public sealed class CreateKeyCommand(IAnsiConsole console) : ApiCommand<CreateKeySettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, CreateKeySettings settings, CancellationToken cancellationToken)
    {
        var made = await api.CreateKeyAsync(settings.Client, settings.Operator, cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, made);
        }
        else
        {
            Console.MarkupLine($"Key {made.Info.Id} for client '{Markup.Escape(made.Info.Client)}'{(made.Info.Operator ? " (operator)" : "")}; shown this once:");
            Console.WriteLine(made.Key);
        }

        return ExitCodes.Ok;
    }
}

public sealed class ListKeysSettings : ApiSettings
{
    [CommandArgument(0, "[CLIENT]")]
    [Description("Only this client's keys")]
    public string? Client { get; init; }
}

public sealed class ListKeysCommand(IAnsiConsole console) : ApiCommand<ListKeysSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, ListKeysSettings settings, CancellationToken cancellationToken)
    {
        var keys = await api.KeysAsync(settings.Client, cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, keys);
            return ExitCodes.Ok;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("id").AddColumn("client").AddColumn("hint").AddColumn("created")
            .AddColumn("last used").AddColumn("state").AddColumn("limits");
        foreach (var key in keys)
        {
            table.AddRow(key.Id.ToString(), Markup.Escape(key.Client + (key.Operator ? " (operator)" : "")), Markup.Escape(key.Hint), Time(key.CreatedAt),
                Time(key.LastUsedAt), key.RevokedAt is { } revoked ? $"revoked {Time(revoked)}" : "active", Markup.Escape(Describe(key.Limits)));
        }

        Console.Write(table);
        return ExitCodes.Ok;
    }

    private static string Time(DateTimeOffset? time) => time?.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) ?? "never";

    /// <summary>A client's limits in words, "default" where the Api's own applies.</summary>
    public static string Describe(ClientLimits limits) =>
        $"{limits.RequestsPerMinute?.ToString(CultureInfo.InvariantCulture) ?? "default"} requests a minute, "
        + $"{limits.GenerationsPerUser?.ToString(CultureInfo.InvariantCulture) ?? "default"} generations running per user, "
        + $"{limits.DailySpendCap?.ToString("0.00", CultureInfo.InvariantCulture) ?? "default"} USD a day";
}

public sealed class RevokeKeySettings : ApiSettings
{
    [CommandArgument(0, "<KEY-ID>")]
    [Description("The key's id, as 'pinglass keys list' shows it")]
    public Guid KeyId { get; init; }
}

public sealed class RevokeKeyCommand(IAnsiConsole console) : ApiCommand<RevokeKeySettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, RevokeKeySettings settings, CancellationToken cancellationToken)
    {
        await api.RevokeKeyAsync(settings.KeyId, cancellationToken);
        Console.MarkupLine($"Key {settings.KeyId} revoked.");
        return ExitCodes.Ok;
    }
}

public sealed class LimitsSettings : ApiSettings
{
    [CommandArgument(0, "<CLIENT>")]
    public string Client { get; init; } = "";

    [CommandOption("--requests-per-minute <N>")]
    public int? RequestsPerMinute { get; init; }

    [CommandOption("--generations-per-user <N>")]
    [Description("Generations one end user may have running at once")]
    public int? GenerationsPerUser { get; init; }

    [CommandOption("--daily-spend-cap <USD>")]
    public decimal? DailySpendCap { get; init; }
}

/// <summary>Sets a client's own limits; a limit not given goes back to the Api's default.</summary>
public sealed class LimitsCommand(IAnsiConsole console) : ApiCommand<LimitsSettings>(console)
{
    protected override async Task<int> RunAsync(PinGlassApiClient api, LimitsSettings settings, CancellationToken cancellationToken)
    {
        var set = await api.SetLimitsAsync(settings.Client, new ClientLimits(settings.RequestsPerMinute, settings.GenerationsPerUser, settings.DailySpendCap),
            cancellationToken);
        if (settings.Json)
        {
            Reports.Json(Console, set);
        }
        else
        {
            Console.MarkupLine($"Client '{Markup.Escape(settings.Client)}': {ListKeysCommand.Describe(set)}.");
        }

        return ExitCodes.Ok;
    }
}
