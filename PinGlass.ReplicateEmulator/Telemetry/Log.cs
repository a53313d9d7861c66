namespace PinGlass.ReplicateEmulator.Telemetry;

/// <summary>Source-generated log messages of the emulator.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Prediction {PredictionId} for {Model} created (webhook: {HasWebhook})")]
    public static partial void PredictionCreated(this ILogger logger, string predictionId, string model, bool hasWebhook);

    [LoggerMessage(2, LogLevel.Information, "Prediction {PredictionId} for {Model} ended {Status} after {PredictTime}s of predict time")]
    public static partial void PredictionFinished(this ILogger logger, string predictionId, string model, string status, double predictTime);

    [LoggerMessage(3, LogLevel.Warning, "Fault injected: {Kind} for {Model} ({Detail})")]
    public static partial void FaultInjected(this ILogger logger, string kind, string model, string detail);

    [LoggerMessage(4, LogLevel.Information, "Webhook {WebhookId} ({Event}) for {PredictionId} answered {StatusCode} on attempt {Attempt}")]
    public static partial void WebhookDelivered(this ILogger logger, string webhookId, string @event, string predictionId, int statusCode, int attempt);

    [LoggerMessage(5, LogLevel.Warning, "Webhook {WebhookId} ({Event}) for {PredictionId} failed on attempt {Attempt}: {Reason}")]
    public static partial void WebhookFailed(this ILogger logger, string webhookId, string @event, string predictionId, int attempt, string reason);

    [LoggerMessage(6, LogLevel.Information, "Data of prediction {PredictionId} removed after the retention period")]
    public static partial void DataRemoved(this ILogger logger, string predictionId);

    [LoggerMessage(7, LogLevel.Information, "Fault rules replaced: {Count} active")]
    public static partial void FaultRulesReplaced(this ILogger logger, int count);

    [LoggerMessage(8, LogLevel.Warning, "Prediction {PredictionId} failed: {Error}")]
    public static partial void PredictionFailed(this ILogger logger, string predictionId, string error);
}
