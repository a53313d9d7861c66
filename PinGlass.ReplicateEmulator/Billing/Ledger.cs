using System.Collections.Concurrent;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Telemetry;

namespace PinGlass.ReplicateEmulator.Billing;

/// <summary>What one prediction bills. <c>cost_usd</c> = <c>quantity</c> × <c>unit_price_usd</c>, unrounded.</summary>
public sealed record LedgerEntry(
    string PredictionId,
    string Model,
    string Version,
    string Status,
    string Unit,
    decimal Quantity,
    decimal UnitPriceUsd,
    decimal CostUsd,
    double? PredictTime,
    int Images,
    DateTimeOffset CompletedAt);

public sealed record LedgerResponse(int Predictions, decimal TotalUsd, IReadOnlyList<LedgerEntry> Entries);

/// <summary>
/// The billing ledger: Replicate bills time-priced models for the <c>predict_time</c> of succeeded, failed and canceled
/// predictions (never for <c>aborted</c> ones, nor for boot or queue time), and per-image models for each delivered image.
/// </summary>
public sealed class Ledger(EmulatorMetrics metrics)
{
    private readonly ConcurrentQueue<LedgerEntry> entries = new();

    public LedgerEntry Record(string predictionId, ReplicateModel model, string version, string status, double? predictTime, int images,
        DateTimeOffset completedAt)
    {
        var price = model.Price;
        decimal quantity = price.IsPerImage
            ? status == "succeeded" ? images : 0
            : status is "succeeded" or "failed" or "canceled" ? (decimal)(predictTime ?? 0) : 0;
        var entry = new LedgerEntry(predictionId, model.FullName, version, status, price.Unit, quantity, price.UsdPerUnit,
            quantity * price.UsdPerUnit, predictTime, images, completedAt);
        entries.Enqueue(entry);
        metrics.Billed(model.FullName, entry.CostUsd);
        return entry;
    }

    public LedgerResponse Snapshot()
    {
        var all = entries.ToArray();
        return new(all.Length, all.Sum(e => e.CostUsd), all);
    }

    public void Clear() => entries.Clear();
}
