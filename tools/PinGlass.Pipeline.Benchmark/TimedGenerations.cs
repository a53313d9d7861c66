using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.AppHost;
using PinGlass.Fixtures;
using PinGlass.Photos.Intake;

namespace PinGlass.Pipeline.Benchmark;

/// <summary>
/// One finished generation, timed and costed. Seconds are wall-clock; at a time scale of N, Replicate seconds are N times as many.
/// Costs are PinGlass's: the estimates the Api answered with, and what the generation spent (its predictions' settled costs).
/// </summary>
public sealed record Measurement(string Mode, string Status, int Succeeded, int Portraits, double GenerationSeconds, double SlowestSeconds,
    double? BatchSlowestSumSeconds, decimal EstimatedCost, decimal EstimatedCostWithRetries, decimal Spent, int Predictions, int FailedPredictions,
    Overhead Overhead)
{
    public double Ratio => SlowestSeconds > 0 ? GenerationSeconds / SlowestSeconds : double.NaN;

    public bool Completed => Status == "completed";
}

/// <summary>
/// Where a generation's time beyond its predictions goes: from its row to its first create on the emulator, from the first create
/// to the last, and from the last prediction's end to the generation's end (settle, output copy, identity check, finalize).
/// </summary>
public sealed record Overhead(double ToFirstCreateSeconds, double CreateSpreadSeconds, double AfterLastResultSeconds);

/// <summary>Starts generations through the Api as a client app would, waits for them, and reads each prediction's latency from the emulator.</summary>
public sealed class TimedGenerations(HttpClient api, HttpClient emulator, IReadOnlyList<UploadedPhoto> photos)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    // Far beyond any real generation: a safety net so a stuck run ends the benchmark instead of hanging it.
    private static readonly TimeSpan GenerationTimeout = TimeSpan.FromMinutes(30);

    public async Task<Measurement> RunAsync(string mode, IReadOnlyList<(string Name, string Value)> fields, int? batchSize,
        CancellationToken cancellationToken)
    {
        var (id, estimate, estimateWithRetries) = await StartAsync(fields, cancellationToken);
        var generation = await WaitAsync(id, cancellationToken);
        var status = generation.GetProperty("status").GetString() ?? "";
        var portraits = generation.GetProperty("portraits").EnumerateArray().ToList();

        // Every attempt counts: a retried portrait's slow first prediction still held the generation up.
        var latencies = new List<(int Batch, double Seconds)>();
        var spans = new List<(DateTimeOffset Created, DateTimeOffset Completed)>();
        var attempts = portraits.SelectMany(p => p.GetProperty("attempts").EnumerateArray()).ToList();
        foreach (var portrait in portraits)
        {
            var batch = batchSize is { } size ? portrait.GetProperty("index").GetInt32() / size : 0;
            foreach (var attempt in portrait.GetProperty("attempts").EnumerateArray())
            {
                if (attempt.GetProperty("predictionId").GetString() is { } predictionId
                    && await SpanAsync(predictionId, cancellationToken) is { } span)
                {
                    latencies.Add((batch, (span.Completed - span.Created).TotalSeconds));
                    spans.Add(span);
                }
            }
        }

        var createdAt = generation.GetProperty("createdAt").GetDateTimeOffset();
        DateTimeOffset? completedAt = generation.GetProperty("completedAt").ValueKind == JsonValueKind.String
            ? generation.GetProperty("completedAt").GetDateTimeOffset()
            : null;
        var generationSeconds = completedAt is { } end ? (end - createdAt).TotalSeconds : double.NaN;
        var overhead = spans.Count == 0 || completedAt is null
            ? new Overhead(double.NaN, double.NaN, double.NaN)
            : new Overhead((spans.Min(s => s.Created) - createdAt).TotalSeconds, (spans.Max(s => s.Created) - spans.Min(s => s.Created)).TotalSeconds,
                (completedAt.Value - spans.Max(s => s.Completed)).TotalSeconds);
        double? batchSum = batchSize is null ? null : latencies.GroupBy(l => l.Batch).Sum(g => g.Max(l => l.Seconds));
        return new Measurement(mode, status, portraits.Count(p => p.GetProperty("status").GetString() == "succeeded"), portraits.Count,
            generationSeconds, latencies.Count > 0 ? latencies.Max(l => l.Seconds) : double.NaN, batchSum, estimate, estimateWithRetries,
            generation.GetProperty("costSoFar").GetDecimal(), attempts.Count, attempts.Count(a => a.GetProperty("status").GetString() == "failed"), overhead);
    }

    private async Task<(Guid Id, decimal EstimatedCost, decimal EstimatedCostWithRetries)> StartAsync(IReadOnlyList<(string Name, string Value)> fields, CancellationToken cancellationToken)
    {
        using var form = GenerationForm.Create(photos, fields);

        using var response = await api.PostAsync("/v1/generations", form, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /v1/generations answered {(int)response.StatusCode}: {body}");
        }

        var created = JsonDocument.Parse(body).RootElement;
        return (created.GetProperty("id").GetGuid(), created.GetProperty("estimatedCost").GetDecimal(),
            created.GetProperty("estimatedCostWithRetries").GetDecimal());
    }

    private async Task<JsonElement> WaitAsync(Guid id, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GenerationTimeout);
        while (true)
        {
            var generation = await api.GetFromJsonAsync<JsonElement>($"/v1/generations/{id}", timeout.Token);
            if (generation.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                return generation;
            }

            await Task.Delay(PollInterval, timeout.Token);
        }
    }

    /// <summary>created_at and completed_at of the emulator's prediction, or null while it has not ended.</summary>
    private async Task<(DateTimeOffset Created, DateTimeOffset Completed)?> SpanAsync(string predictionId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/predictions/{predictionId}");
        request.Headers.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        using var response = await emulator.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var prediction = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return prediction.TryGetProperty("completed_at", out var completed) && completed.ValueKind == JsonValueKind.String
            ? (prediction.GetProperty("created_at").GetDateTimeOffset(), completed.GetDateTimeOffset())
            : null;
    }
}
