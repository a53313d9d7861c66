using PinGlass.Generations.Completion;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.ContractCheck;

/// <summary>One check: what was checked on which provider, and what was seen when it failed.</summary>
public sealed record CheckResult(string Provider, string Check, bool Passed, string Detail);

/// <summary>
/// The smallest prediction PinGlass would send on each provider, run against a Replicate endpoint, and every field PinGlass reads
/// checked as PinGlass reads it: the create's answer, the end state and its timestamps, the billable time and cost, the input echoed
/// as sent (what finds a lost create), the prediction in the account's list by its documented fields, the output copied as the
/// pipeline copies it, and the webhook secret. Run against the real API it shows where Replicate and the emulator part.
/// </summary>
public sealed class ContractCheck(ReplicateClient client, ProviderChain chain, OutputFetcher outputs, TimeProvider time)
{
    /// <summary>At most this long for one prediction, cold boot included (Replicate fails one after 30 minutes).</summary>
    public static readonly TimeSpan PredictionDeadline = TimeSpan.FromMinutes(15);

    public async Task<IReadOnlyList<CheckResult>> RunAsync(string faceDataUrl, IReadOnlyList<string> providers, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>();
        var secret = await client.GetWebhookSecretAsync(cancellationToken);
        results.Add(new("account", "webhook secret", secret.StartsWith("whsec_", StringComparison.Ordinal), "whsec_…"));
        foreach (var name in providers)
        {
            results.AddRange(await CheckAsync(chain[name], faceDataUrl, cancellationToken));
        }

        return results;
    }

    private async Task<List<CheckResult>> CheckAsync(PortraitProvider provider, string face, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>();
        void Check(string check, bool passed, string detail) => results.Add(new(provider.Name, check, passed, detail));

        var request = new PortraitRequest("a studio portrait of the person", [.. Enumerable.Repeat(face, provider.MaxFaces > 1 ? 2 : 1)],
            new PortraitOptions { Width = 512, Height = 512, Steps = 4, Seed = InputFingerprint.SeedFor(Guid.NewGuid().ToString("N")) });
        var input = provider.Map(request).Input;
        Prediction created;
        try
        {
            created = await client.CreatePredictionAsync(provider.Model, input, new CreatePredictionOptions(CancelAfter: PredictionDeadline),
                cancellationToken);
        }
        catch (Errors.ReplicateException e)
        {
            Check("create", false, $"{e.Category}: {e.Message}");
            return results;
        }

        Check("create", created.Id.Length > 0 && created.Status is PredictionStatus.Starting or PredictionStatus.Processing
            && created.Model == provider.Model.FullName && created.Urls?.Get is not null,
            $"id {created.Id}, status {created.Status}, model {created.Model}, urls.get {created.Urls?.Get}");

        var prediction = created;
        var until = time.GetUtcNow() + PredictionDeadline;
        while (!prediction.IsTerminal && time.GetUtcNow() < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
            prediction = await client.GetPredictionAsync(created.Id, cancellationToken);
        }

        Check("succeeded", prediction.Status == PredictionStatus.Succeeded, $"status {prediction.Status}{(prediction.Error is null ? "" : $": {prediction.Error}")}");
        if (!prediction.IsTerminal)
        {
            await client.CancelPredictionAsync(created.Id, cancellationToken);
            return results;
        }

        Check("timestamps", prediction.StartedAt is { } started && prediction.CompletedAt is { } completed
            && prediction.CreatedAt <= started && started <= completed,
            $"created {prediction.CreatedAt:O}, started {prediction.StartedAt:O}, completed {prediction.CompletedAt:O}");
        var cost = provider.CostOf(prediction);
        Check("billed", prediction.Metrics?.PredictTime > 0 && cost > 0, $"predict_time {prediction.Metrics?.PredictTime} s, cost ${cost}");
        var sent = InputFingerprint.Of(input);
        Check("input echoed", prediction.Input is { } echoed && InputFingerprint.Of(echoed) == sent,
            "the input a GET returns has the fingerprint of the input sent");

        var listed = await client.ListPredictionsAsync(createdAfter: created.CreatedAt, cancellationToken: cancellationToken);
        Check("listed by documented fields", listed.Results.Any(p => p.Id == created.Id && p.Model == provider.Model.FullName
                && p.Input is { } echoed && InputFingerprint.Of(echoed) == sent),
            $"GET /v1/predictions?created_after={created.CreatedAt:O} lists it with its model and input");

        if (prediction.OutputUrls is [var url, ..])
        {
            try
            {
                var output = await outputs.FetchAsync(url, cancellationToken);
                Check("output copied", true, $"{output.ContentType}, {output.Content.ToMemory().Length} bytes from {new Uri(url).Host}");
            }
            catch (OutputFetchException e)
            {
                Check("output copied", false, e.Message);
            }
        }
        else
        {
            Check("output copied", false, "no output URL");
        }

        return results;
    }

    /// <summary>What the checks cost at Replicate's prices: each provider's worst case for one small prediction.</summary>
    public decimal WorstCaseCost(IEnumerable<string> providers) =>
        providers.Sum(name => chain[name].WorstCaseCost(TimeSpan.FromSeconds(60)));
}
