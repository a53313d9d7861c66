namespace PinGlass.AppHost.Tests;

/// <summary>
/// Test classes whose generations make predictions on the shared AppHost's emulator take turns: its fault rules are global, and a
/// prediction of one class's generation took a failure another class had injected for its own (a clean-clone run's cost-ledger test
/// then found none of its predictions failed).
/// </summary>
[CollectionDefinition(Collection)]
public sealed class SharedEmulator
{
    public const string Collection = "Shared emulator";
}
