using System.Collections.Frozen;
using System.Text.Json;
using PinGlass.Replicate.Client;

namespace PinGlass.Generations.Persistence;

public enum GenerationStatus { Queued, Running, Completed, CompletedWithFailures, Failed, Cancelled }

public enum PortraitStatus { Pending, Running, Succeeded, Failed, Cancelled }

/// <summary>A prediction row's state: Replicate's statuses, plus <c>creating</c> (the create is being sent) and <c>not_created</c>.</summary>
public enum PredictionState { Creating, NotCreated, Starting, Processing, Succeeded, Failed, Cancelled, Aborted }

/// <summary>Statuses as the schema and the API spell them: snake_case, and "cancelled" (Replicate's "canceled" is read into it).</summary>
public static class StatusNames
{
    public static string Name<T>(this T status) where T : struct, Enum => Names<T>.ByValue[status];

    public static T Parse<T>(string name) where T : struct, Enum =>
        Names<T>.ByName.TryGetValue(name, out var status) ? status : throw new FormatException($"'{name}' is not a {typeof(T).Name}.");

    /// <summary>
    /// The value spelled <paramref name="name"/> exactly (as the API spells it: no numbers, no comma-joined flags, as Enum.TryParse
    /// would accept); false for any other text.
    /// </summary>
    public static bool TryParse<T>(string? name, out T value) where T : struct, Enum => Names<T>.ByName.TryGetValue(name ?? "", out value);

    public static bool IsTerminal(this GenerationStatus status) => status is not (GenerationStatus.Queued or GenerationStatus.Running);

    public static bool IsTerminal(this PortraitStatus status) => status is not (PortraitStatus.Pending or PortraitStatus.Running);

    /// <summary>Created (or being created) and not ended: it may still bill.</summary>
    public static bool IsOpen(this PredictionState state) => state is PredictionState.Creating or PredictionState.Starting or PredictionState.Processing;

    /// <summary>Replicate's status of a prediction as a row's state.</summary>
    public static PredictionState FromReplicate(string status) =>
        status == PredictionStatus.Canceled ? PredictionState.Cancelled : Parse<PredictionState>(status);

    private static class Names<T> where T : struct, Enum
    {
        public static readonly FrozenDictionary<T, string> ByValue =
            Enum.GetValues<T>().ToFrozenDictionary(v => v, v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()));

        public static readonly FrozenDictionary<string, T> ByName = ByValue.ToFrozenDictionary(p => p.Value, p => p.Key);
    }
}
