// The Replicate contract check: the smallest prediction on each provider against the real API, every field PinGlass reads checked.
// Usage: REPLICATE_API_TOKEN=r8_… dotnet run -c Release --project tools/PinGlass.Replicate.ContractCheck [-- --url BASE_URL (no /v1)] [--providers a,b]
// Without a token it sends nothing and says so.
using Microsoft.Extensions.DependencyInjection;
using PinGlass.Replicate.ContractCheck;
using PinGlass.Replicate.Providers;

var token = Environment.GetEnvironmentVariable("REPLICATE_API_TOKEN");
if (string.IsNullOrEmpty(token))
{
    Console.WriteLine("skipped: REPLICATE_API_TOKEN is not set, so nothing was sent to Replicate. Set it to an API token to run the smallest " +
        "prediction on each provider and check every field PinGlass reads.");
    return 0;
}

var url = new Uri(Option("--url") ?? "https://api.replicate.com/");
var providers = Option("--providers")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? ProviderNames.All;
if (providers.Except(ProviderNames.All).ToList() is [_, ..] unknown)
{
    Console.Error.WriteLine($"unknown provider(s): {string.Join(", ", unknown)}; the providers are {string.Join(", ", ProviderNames.All)}");
    return 2;
}

using var host = ContractCheckHost.Build(token, url);
var check = host.Services.GetRequiredService<ContractCheck>();
Console.WriteLine($"Checking {string.Join(", ", providers)} at {url} (at most ${check.WorstCaseCost(providers):0.00} at Replicate's prices)");
var results = await check.RunAsync(await ContractCheckHost.FaceDataUrlAsync(), providers, CancellationToken.None);
foreach (var result in results)
{
    Console.WriteLine($"{(result.Passed ? "pass" : "FAIL"),-5} {result.Provider,-17} {result.Check,-28} {result.Detail}");
}

var failed = results.Count(r => !r.Passed);
Console.WriteLine($"{results.Count - failed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
