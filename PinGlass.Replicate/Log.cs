using Microsoft.Extensions.Logging;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate;

internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Create on {Model} ended ambiguously ({Category}): {Reason}; looking for what it made before any retry")]
    public static partial void AmbiguousCreate(this ILogger logger, string model, ErrorCategory category, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "No prediction on {Model} carries the create's marker: nothing was created")]
    public static partial void NothingCreated(this ILogger logger, string model);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Error, Message = "The search for a create's prediction on {Model} stopped after {Pages} pages of its window (a page repeated, or the bound)")]
    public static partial void SearchCutOff(this ILogger logger, string model, int pages);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Adopted prediction {PredictionId} on {Model} made by an ambiguous create")]
    public static partial void Adopted(this ILogger logger, string predictionId, string model);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Canceling duplicate prediction {PredictionId} on {Model}")]
    public static partial void CancelingDuplicate(this ILogger logger, string predictionId, string model);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Circuit of {Model} opened for {BreakDuration}")]
    public static partial void CircuitOpened(this ILogger logger, string model, TimeSpan breakDuration);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Circuit of {Model} closed")]
    public static partial void CircuitClosed(this ILogger logger, string model);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Health probe of {Provider} ({Model}) failed: {Error}")]
    public static partial void ProbeFailed(this ILogger logger, string provider, string model, string error);
}
