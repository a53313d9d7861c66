using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace PinGlass.ReplicateEmulator.Predictions;

/// <summary>Every prediction created since start-up (removed data stays removed; the records stay, as on Replicate).</summary>
public sealed class PredictionStore
{
    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    private readonly ConcurrentDictionary<string, Prediction> predictions = new(StringComparer.Ordinal);
    private long sequence;

    public long NextSequence() => Interlocked.Increment(ref sequence);

    /// <summary>A 26-character lower-case alphanumeric id, like Replicate's.</summary>
    public static string NewId() => RandomNumberGenerator.GetString(IdAlphabet, 26);

    public void Add(Prediction prediction) => predictions[prediction.Id] = prediction;

    public Prediction? Find(string id) => predictions.GetValueOrDefault(id);

    public IEnumerable<Prediction> All => predictions.Values;
}
