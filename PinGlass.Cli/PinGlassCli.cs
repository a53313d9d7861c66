using PinGlass.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli;

/// <summary>The command line's one composition point: its commands, and the console they write to.</summary>
public static class PinGlassCli
{
    public static Task<int> RunAsync(string[] args, IAnsiConsole console, CancellationToken cancellationToken = default)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("pinglass");
            config.ConfigureConsole(console);
            config.Settings.Registrar.RegisterInstance(console);
            config.SetExceptionHandler((exception, _) =>
            {
                console.MarkupLine($"[red]{Markup.Escape(exception.Message)}[/]");
                return exception is CommandAppException ? ExitCodes.Usage : ExitCodes.Unavailable;
            });
            config.AddCommand<GenerateCommand>("generate").WithDescription("Upload 10–20 photos of one person, follow the 23 portraits live, save them")
                .WithExample("generate", "samples/photos");
            config.AddCommand<StatusCommand>("status").WithDescription("A generation now: each portrait, cost, identity flags");
            config.AddCommand<WatchCommand>("watch").WithDescription("Follow a generation until it ends");
            config.AddCommand<CancelCommand>("cancel").WithDescription("Stop a running generation");
            config.AddCommand<RetryCommand>("retry").WithDescription("Make one portrait of an ended generation again");
            config.AddCommand<CostsCommand>("costs").WithDescription("What the client application's predictions cost, by day and model");
            config.AddCommand<StylesCommand>("styles").WithDescription("The portrait styles");
            config.AddBranch("keys", keys =>
            {
                keys.SetDescription("Client applications' API keys (an operator client's key)");
                keys.AddCommand<CreateKeyCommand>("create").WithDescription("A new key for a client application, shown once");
                keys.AddCommand<ListKeysCommand>("list").WithDescription("Every key, or one client's");
                keys.AddCommand<RevokeKeyCommand>("revoke").WithDescription("A key authenticates nothing from now on");
                keys.AddCommand<LimitsCommand>("limits").WithDescription("A client's own limits; one not given is the default again");
            });
        });
        return app.RunAsync(args, cancellationToken);
    }
}
