namespace PinGlass.Cli.Commands;

/// <summary>What <c>pinglass</c> exits with, for scripts.</summary>
public static class ExitCodes
{
    /// <summary>Done: the command did what it was asked (a generation: every portrait delivered).</summary>
    public const int Ok = 0;

    /// <summary>A generation ended without every portrait: completed with failures, failed or cancelled.</summary>
    public const int Incomplete = 1;

    /// <summary>The command line cannot be used: a bad option, no photos where it points.</summary>
    public const int Usage = 2;

    /// <summary>The Api refused the request (a 4xx: its problem is printed): not enough usable photos, over budget, no such generation.</summary>
    public const int Refused = 3;

    /// <summary>The Api could not be reached or stayed unavailable (5xx, throttled) longer than the command waits.</summary>
    public const int Unavailable = 4;

    /// <summary>Stopped with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
