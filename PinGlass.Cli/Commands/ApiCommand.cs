using PinGlass.Cli.Api;
using PinGlass.Cli.Output;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PinGlass.Cli.Commands;

/// <summary>A command that calls the Api: what the Api refuses, or cannot answer, is shown the same way by every command.</summary>
public abstract class ApiCommand<TSettings>(IAnsiConsole console) : AsyncCommand<TSettings> where TSettings : ApiSettings
{
    /// <summary>How long passing trouble is waited out: a minute, for a person at a terminal.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromMinutes(1);

    protected IAnsiConsole Console => console;

    public sealed override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Connect(Patience);
        try
        {
            return await RunAsync(api, settings, cancellationToken);
        }
        catch (ApiProblem problem)
        {
            Reports.Problem(console, problem, settings.Json);
            return problem.IsRefusal ? ExitCodes.Refused : ExitCodes.Unavailable;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted; // Ctrl+C: a generation goes on at the Api ('pinglass cancel' stops it)
        }
    }

    protected abstract Task<int> RunAsync(PinGlassApiClient api, TSettings settings, CancellationToken cancellationToken);
}
