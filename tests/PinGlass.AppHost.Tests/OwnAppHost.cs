namespace PinGlass.AppHost.Tests;

/// <summary>
/// Test classes that start an AppHost of their own, beside the shared one: they take turns, so no more than two AppHosts start at
/// once on a 2-core machine (three starting together have timed a Jobs replica out).
/// </summary>
[CollectionDefinition(Collection)]
public sealed class OwnAppHost
{
    public const string Collection = "Own AppHost";
}
