using Microsoft.Extensions.DependencyInjection;
using PinGlass.Replicate.Providers;

namespace PinGlass.Replicate.Tests;

/// <summary>The real-API contract check, run against the emulator: it passes where the emulator behaves as Replicate, and says where not.</summary>
public sealed class ContractCheckTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_provider_passes_every_check_against_the_emulator()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        using var host = ContractCheck.ContractCheckHost.Build(TestHost.Token, emulator.BaseAddress);

        var results = await host.Services.GetRequiredService<ContractCheck.ContractCheck>()
            .RunAsync(await ContractCheck.ContractCheckHost.FaceDataUrlAsync(), ProviderNames.All, Token);

        Assert.All(results, r => Assert.True(r.Passed, $"{r.Provider} {r.Check}: {r.Detail}"));
        Assert.Equal(1 + (ProviderNames.All.Length * 7), results.Count);
    }

    [Fact]
    public async Task A_provider_whose_prediction_fails_fails_its_checks_and_the_others_still_pass()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await emulator.SetFaultsAsync(new { kind = "prediction_failed", model = "bytedance/flux-pulid" });
        using var host = ContractCheck.ContractCheckHost.Build(TestHost.Token, emulator.BaseAddress);

        var results = await host.Services.GetRequiredService<ContractCheck.ContractCheck>()
            .RunAsync(await ContractCheck.ContractCheckHost.FaceDataUrlAsync(), [ProviderNames.FluxPulid, ProviderNames.InstantId], Token);

        Assert.Contains(results, r => r is { Provider: ProviderNames.FluxPulid, Check: "succeeded", Passed: false });
        Assert.Contains(results, r => r is { Provider: ProviderNames.FluxPulid, Check: "output copied", Passed: false });
        Assert.All(results.Where(r => r.Provider == ProviderNames.InstantId), r => Assert.True(r.Passed, $"{r.Check}: {r.Detail}"));
    }
}
