using PinGlass.Cli;
using Spectre.Console;

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the command (a generation goes on at the Api: 'pinglass cancel' stops it); a second one ends the process.
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};
return await PinGlassCli.RunAsync(args, AnsiConsole.Console, interrupted.Token);
