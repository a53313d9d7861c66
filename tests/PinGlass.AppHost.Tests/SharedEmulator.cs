namespace PinGlass.AppHost.Tests;

/// <summary>
/// Test classes that make predictions on the shared AppHost's emulator take turns: its fault rules are global, and a prediction of
/// one class took a fault another class had injected for its own (in clean-clone runs the cost-ledger test found none of its
/// predictions failed, and the slow-prediction test's prediction ran at its drawn length, its one slow fault spent elsewhere).
/// A class ends what it started before it gives up its turn.
/// </summary>
[CollectionDefinition(Collection)]
public sealed class SharedEmulator
{
    public const string Collection = "Shared emulator";
}
