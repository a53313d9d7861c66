using System.Reflection;
using Xunit.Sdk;
using Xunit.v3;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The tests that run twenty generations at once (the shared AppHost's and the chaos suite's) take both cores for minutes each:
/// run together, each took three times as long as alone and came within a minute of its bound on a clean-clone run, and past it
/// on CI's slower machine. They take turns; each waits for the other rather than sharing the cores with it. The shared AppHost's
/// runs first in its class (<see cref="RunsFirstAttribute"/>): its class is the suite's longest chain, and the chaos suite's comes
/// after two tests and its AppHost's start, so neither waits for the other.
/// </summary>
public static class HeavyLoad
{
    private static readonly SemaphoreSlim Turn = new(1, 1);

    public static async Task<IDisposable> TakeTurnAsync()
    {
        await Turn.WaitAsync(TestContext.Current.CancellationToken);
        return new Release();
    }

    private sealed class Release : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Turn.Release();
            }
        }
    }
}

/// <summary>A test its class runs before the others (with <see cref="RunsFirstOrderer"/> on the class).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RunsFirstAttribute : Attribute;

/// <summary>The tests marked <see cref="RunsFirstAttribute"/> first, then the rest, each in xUnit's own order.</summary>
public sealed class RunsFirstOrderer : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases) where TTestCase : notnull, ITestCase =>
        [.. DefaultTestCaseOrderer.Instance.OrderTestCases(testCases)
            .OrderBy(t => t is IXunitTestCase test && test.TestMethod.Method.IsDefined(typeof(RunsFirstAttribute)) ? 0 : 1)];
}
