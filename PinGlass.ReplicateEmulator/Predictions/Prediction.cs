using System.Text;
using System.Text.Json;
using PinGlass.ReplicateEmulator.Latency;
using PinGlass.ReplicateEmulator.Models;

namespace PinGlass.ReplicateEmulator.Predictions;

public static class PredictionStatus
{
    public const string Starting = "starting";
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string Aborted = "aborted";

    public static bool IsTerminal(string status) => status is Succeeded or Failed or Canceled or Aborted;
}

/// <summary>
/// A prediction's mutable state. All transitions go through the methods below, under one lock, so the runner, the
/// cancel endpoint and the deadline timer cannot both end it: the first terminal transition wins.
/// </summary>
public sealed class Prediction(
    string id,
    long sequence,
    ReplicateModel model,
    string version,
    JsonElement input,
    string baseUrl,
    string? webhook,
    IReadOnlyList<string>? webhookEventsFilter,
    DateTimeOffset createdAt,
    DateTimeOffset? deadline,
    LatencyPlan plan)
{
    private static readonly JsonElement EmptyInput = JsonDocument.Parse("{}").RootElement;

    private readonly Lock gate = new();
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder logs = new();
    private JsonElement input = input;
    private string status = PredictionStatus.Starting;
    private DateTimeOffset? startedAt;
    private DateTimeOffset? completedAt;
    private IReadOnlyList<string> outputUrls = [];
    private string? error;
    private PredictionMetrics? metrics;
    private bool dataRemoved;

    public string Id => id;

    public long Sequence => sequence;

    public ReplicateModel Model => model;

    public string Version => version;

    public string? Webhook => webhook;

    public IReadOnlyList<string>? WebhookEventsFilter => webhookEventsFilter;

    public DateTimeOffset CreatedAt => createdAt;

    public string BaseUrl => baseUrl;

    /// <summary>The latency drawn for this prediction at creation.</summary>
    public LatencyPlan Plan => plan;

    /// <summary>
    /// The images its processing made, published when its predict time has run: so an end that finds the time run but the runner's
    /// wait not yet over (a busy machine) can still succeed it, as Replicate would have.
    /// </summary>
    public IReadOnlyList<string>? Rendered { get; set; }

    /// <summary>Cancels the runner's waiting and rendering once the prediction has ended early.</summary>
    public CancellationTokenSource Stop { get; } = new();

    /// <summary>Completes when the prediction reaches a terminal status.</summary>
    public Task Finished => finished.Task;

    public string Status
    {
        get
        {
            lock (gate)
            {
                return status;
            }
        }
    }

    public IReadOnlyList<string> OutputUrls
    {
        get
        {
            lock (gate)
            {
                return outputUrls;
            }
        }
    }

    public bool TryStart(DateTimeOffset now, string log)
    {
        lock (gate)
        {
            if (status != PredictionStatus.Starting)
            {
                return false;
            }

            status = PredictionStatus.Processing;
            startedAt = now;
            logs.Append(log);
            return true;
        }
    }

    /// <summary>Publishes the outputs while still <c>processing</c>, as Replicate does before the final status.</summary>
    public bool TrySetOutput(IReadOnlyList<string> urls)
    {
        lock (gate)
        {
            if (status != PredictionStatus.Processing)
            {
                return false;
            }

            outputUrls = urls;
            return true;
        }
    }

    /// <summary>Moves to a terminal status; false when another transition got there first.</summary>
    public bool TryFinish(string terminalStatus, DateTimeOffset now, double? predictTime, double totalTime, string? errorText, string log)
    {
        lock (gate)
        {
            if (PredictionStatus.IsTerminal(status))
            {
                return false;
            }

            status = terminalStatus;
            completedAt = now;
            error = errorText;
            metrics = new(predictTime, totalTime);
            logs.Append(log);
            if (terminalStatus != PredictionStatus.Succeeded)
            {
                outputUrls = [];
            }
        }

        finished.TrySetResult();
        return true;
    }

    /// <summary>When the prediction started processing, if it has.</summary>
    public DateTimeOffset? StartedAt
    {
        get
        {
            lock (gate)
            {
                return startedAt;
            }
        }
    }

    /// <summary>Retention: inputs, outputs and logs go; the output key stays, as null.</summary>
    public IReadOnlyList<string> RemoveData()
    {
        lock (gate)
        {
            var removed = outputUrls;
            outputUrls = [];
            input = EmptyInput;
            logs.Clear();
            dataRemoved = true;
            return removed;
        }
    }

    /// <param name="reportAsStarting">True for a <c>Prefer: wait</c> that ran out: the official clients poll only a <c>starting</c> prediction.</param>
    public PredictionResponse ToResponse(bool reportAsStarting = false)
    {
        lock (gate)
        {
            return Response(reportAsStarting ? [] : outputUrls, reportAsStarting);
        }
    }

    /// <summary>
    /// A <c>Prefer: wait</c> answer once the outputs are ready, as Replicate's was (recorded 2024-10, replicate-python's
    /// <c>test_predictions_create_blocking</c>): status <c>processing</c>, the outputs inline as <paramref name="dataUrls"/>, no
    /// <c>started_at</c>, <c>completed_at</c> or <c>metrics</c>, empty logs. A GET afterwards reads the prediction as it is.
    /// </summary>
    public PredictionResponse ToSyncResponse(IReadOnlyList<string> dataUrls)
    {
        lock (gate)
        {
            return Response(dataUrls, reportAsStarting: false) with
            {
                Status = PredictionStatus.Processing,
                Logs = "",
                StartedAt = null,
                CompletedAt = null,
                Metrics = null,
            };
        }
    }

    /// <summary>Under the lock.</summary>
    private PredictionResponse Response(IReadOnlyList<string> outputs, bool reportAsStarting)
    {
        JsonElement? output = outputs.Count == 0
            ? null
            : model.Output.ArrayOutput
                ? JsonSerializer.SerializeToElement(outputs)
                : JsonSerializer.SerializeToElement(outputs.FirstOrDefault());
        var self = $"{baseUrl}/v1/predictions/{id}";
        return new PredictionResponse(
            id, model.FullName, version, input, output, dataRemoved, reportAsStarting ? null : error,
            reportAsStarting ? PredictionStatus.Starting : status,
            reportAsStarting ? "" : logs.ToString(),
            createdAt,
            reportAsStarting ? null : startedAt,
            reportAsStarting ? null : completedAt,
            deadline,
            new PredictionUrls(self, $"{self}/cancel", $"{baseUrl}/p/{id}"),
            reportAsStarting ? null : metrics,
            "api",
            webhook,
            webhookEventsFilter);
    }
}
