using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// Creates a prediction without ever leaving a second, billed one behind. A create POST is not idempotent, so:
/// <list type="bullet">
/// <item>it is sent again at once (after the delay) only when nothing can have been created: a 429 or a refused connection;</item>
/// <item>after an ambiguous outcome (a timeout, a broken connection, a 5xx) the next attempt first lists the predictions created
/// between just before the first attempt and just after the last send (Replicate's <c>created_after</c>/<c>created_before</c>, every
/// page of that window, so the account's other predictions cannot push it out of reach) and looks for one of the same model whose
/// <c>input</c> has the create's <see cref="InputFingerprint"/>; if it finds one it adopts it instead of creating another;</item>
/// <item>when retries run out after an ambiguous outcome it looks once more, and adopts what was made.</item>
/// </list>
/// Only fields the published prediction schema lists in list results are read (model, input, created_at, status): not the webhook URL,
/// which Replicate does not document there. The caller makes each create's input its own (a seed from its marker,
/// <see cref="InputFingerprint.SeedFor"/>, where the model takes one) and names the predictions other creates already hold
/// (<see cref="CreateKey.Claimed"/>): those are never adopted, so two creates of one input cannot take the same prediction. A caller
/// that keeps its own record of creates passes its marker (<see cref="CreateKey"/>), and after a crash resumes with it: the search then
/// comes first; and it passes a hold, renewed before each send, so a worker that waited past its lease cannot send what another now sends.
/// </summary>
public sealed class SafeCreate(ReplicateClient client, IOptions<ReplicateOptions> options, TimeProvider time, ReplicateMetrics metrics,
    ILogger<SafeCreate> logger)
{
    public const string MarkerParameter = "pinglass_attempt";

    /// <summary>How far before the first attempt and after the last send the search reaches: our clock and Replicate's may disagree.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A bound on the pages of 100 one search reads: 100,000 predictions within minutes of one create, far past any account's volume,
    /// so only a server whose pages never end reaches it.
    /// </summary>
    private const int MaxPages = 1000;

    /// <summary>Replicate removes an API prediction's input and output after an hour (its OpenAPI document; replicate-api.md §6), in its own time.</summary>
    private static readonly TimeSpan DataRetention = TimeSpan.FromHours(1);

    private readonly ResiliencePipeline<Prediction> pipeline = BuildPipeline(options.Value, time, metrics);

    /// <summary>Since when a prediction of this create may have lost its input: none can before Replicate's retention has passed.</summary>
    private readonly TimeSpan retentionWall = DataRetention / options.Value.ClockScale;

    public async Task<Prediction> CreateAsync(ModelRef model, JsonObject input, CreatePredictionOptions create, CancellationToken cancellationToken,
        CreateKey? key = null)
    {
        var since = (key?.Since ?? time.GetUtcNow()) - ClockSkew;
        var marker = key?.Marker ?? Guid.NewGuid().ToString("N");
        var ambiguous = key?.Resumed ?? false;
        // What earlier sends of this create sent (a resumed create's may predate a change of its input) and what this one sends.
        string[] fingerprints = [.. new[] { key?.SentFingerprint, InputFingerprint.Of(input) }.OfType<string>().Distinct()];
        // When the last send of this create ended (answered, failed or given up): Replicate makes a prediction before it answers, and
        // one it was still making when we gave up lands within the clock skew. A resumed create's earlier sends ended before its
        // caller took the create over.
        var lastSent = time.GetUtcNow();
        try
        {
            return await pipeline.ExecuteAsync(async token =>
            {
                await HoldAsync(key, token);
                if (ambiguous)
                {
                    if (await FindAsync(model, fingerprints, marker, key, since, lastSent + ClockSkew, token) is { } made)
                    {
                        return made;
                    }

                    // A search takes pages: what it found nothing of may have been attached to the create meanwhile (its webhook).
                    await HoldAsync(key, token);
                }

                try
                {
                    return await client.CreatePredictionAsync(model, input, create with { Webhook = Mark(create.Webhook, marker) }, token);
                }
                catch (ReplicateException e) when (!e.NotSent && ErrorPolicy.IsRetryable(e.Category))
                {
                    ambiguous = true;
                    logger.AmbiguousCreate(model.FullName, e.Category, e.Message);
                    throw;
                }
                finally
                {
                    lastSent = time.GetUtcNow();
                }
            }, cancellationToken);
        }
        catch (ReplicateException last) when (ambiguous)
        {
            // The last outcome is unknown too: adopt what was made rather than leave a billed orphan behind. A search that fails knows
            // nothing: the create may exist, so it is neither given up nor sent again; the caller resumes it (search first) later.
            await HoldAsync(key, cancellationToken);
            Prediction? made;
            try
            {
                made = await FindAsync(model, fingerprints, marker, key, since, lastSent + ClockSkew, cancellationToken);
            }
            catch (ReplicateException search) when (ErrorPolicy.IsRetryable(search.Category))
            {
                throw new CreateOutcomeUnknownException(marker, new AggregateException(last, search));
            }

            if (made is null)
            {
                throw;
            }

            return made;
        }
    }

    /// <summary>
    /// The search of a resumed create, and never a send: what the create under <paramref name="key"/>, whose input had
    /// <paramref name="fingerprint"/>, made from its first attempt until now, adopted (any others cancelled), or null when it made
    /// nothing. For a create whose sender is gone and whose prediction is no longer wanted: what it made is still found, so it can be
    /// cancelled and its cost recorded.
    /// </summary>
    public async Task<Prediction?> FindMadeAsync(ModelRef model, string fingerprint, CreateKey key, CancellationToken cancellationToken)
    {
        await HoldAsync(key, cancellationToken);
        return await FindAsync(model, [fingerprint], key.Marker, key, key.Since - ClockSkew, time.GetUtcNow() + ClockSkew, cancellationToken);
    }

    /// <summary>Before each search and send: the caller still holds the create, or another worker has taken it over.</summary>
    private static async Task HoldAsync(CreateKey? key, CancellationToken cancellationToken)
    {
        if (key?.Hold is { } hold && !await hold(cancellationToken))
        {
            throw new CreateTakenOverException(key.Marker);
        }
    }

    internal static Uri? Mark(Uri? webhook, string marker)
    {
        if (webhook is null)
        {
            return null;
        }

        var separator = string.IsNullOrEmpty(webhook.Query) ? "?" : "&";
        return new Uri($"{webhook.AbsoluteUri}{separator}{MarkerParameter}={marker}");
    }

    /// <summary>
    /// Finds what earlier attempts created between <paramref name="since"/> and <paramref name="until"/>: the same model and input,
    /// not held by another create. Adopts the oldest, and cancels the others only when no other create of the caller's waits for a
    /// prediction of the same input (they are then this create's own duplicates). When an older create of the same input still waits
    /// for its own, or what may be ours was removed after Replicate's hour of retention, which is which cannot be told: the outcome is
    /// unknown, and the create is resumed later rather than adopt another's or send a second.
    /// </summary>
    private async Task<Prediction?> FindAsync(ModelRef model, IReadOnlyCollection<string> fingerprints, string marker, CreateKey? key,
        DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var found = new List<Prediction>();
        var removed = false;
        var mayBeRemoved = time.GetUtcNow() - since > retentionWall;
        var followed = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var predictions = cursor is null
                ? await client.ListPredictionsAsync(createdAfter: since, createdBefore: until, cancellationToken: cancellationToken)
                : await client.ListPredictionsAsync(cursor, cancellationToken: cancellationToken);
            foreach (var prediction in predictions.Results.Where(p => string.Equals(p.Model, model.FullName, StringComparison.OrdinalIgnoreCase)))
            {
                var ours = fingerprints.Any(f => InputFingerprint.Matches(prediction.Input, f));
                if ((ours || (prediction.DataRemoved && mayBeRemoved)) && (key?.Claimed is not { } claimed || !await claimed(prediction.Id, cancellationToken)))
                {
                    removed |= !ours;
                    if (ours)
                    {
                        found.Add(prediction);
                    }
                }
            }

            // A server that ignored the window still lists newest first: past the window's start there is nothing more of ours.
            cursor = predictions.Results.Count == 0 || predictions.Results[^1].CreatedAt < since ? null : predictions.Next;
            if (cursor is not null && (!followed.Add(cursor) || followed.Count >= MaxPages))
            {
                // A window not read to its end says nothing of what the create made: neither "nothing" nor a second send.
                logger.SearchCutOff(model.FullName, followed.Count);
                throw new CreateOutcomeUnknownException(marker, new InvalidOperationException($"The search stopped after {followed.Count} pages."));
            }
        }
        while (cursor is not null);

        var contest = key?.Contest is { } contested ? await contested(cancellationToken) : InputContest.None;
        if (found.Count == 0 && !removed)
        {
            logger.NothingCreated(model.FullName);
            return null;
        }

        if (contest == InputContest.Older || found.Count == 0)
        {
            throw new CreateOutcomeUnknownException(marker, new InvalidOperationException(found.Count == 0
                ? "A prediction of this model in the window has had its input removed: it may be this create's."
                : "An older create of the same input still waits for its prediction: it adopts first."));
        }

        // Newest first: keep the oldest, which has been running longest.
        var adopted = found[^1];
        logger.Adopted(adopted.Id, model.FullName);
        metrics.Adopted(model.FullName);
        foreach (var duplicate in found.Take(found.Count - 1).Where(p => !p.IsTerminal && contest == InputContest.None))
        {
            logger.CancelingDuplicate(duplicate.Id, model.FullName);
            await client.CancelPredictionAsync(duplicate.Id, cancellationToken);
        }

        return adopted;
    }

    private static ResiliencePipeline<Prediction> BuildPipeline(ReplicateOptions options, TimeProvider time, ReplicateMetrics metrics)
    {
        var builder = new ResiliencePipelineBuilder<Prediction> { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<Prediction>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                MaxDelay = options.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is ReplicateException e && ErrorPolicy.IsRetryable(e.Category)),
                // Retry-After is the server's word on when a new request can succeed; it replaces the backoff.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is ReplicateException { RetryAfter: { } after } ? after : (TimeSpan?)null),
                OnRetry = _ =>
                {
                    RetryTally.Count();
                    metrics.Retried("create");
                    return default;
                },
            });
        }

        return builder.Build();
    }
}

/// <summary>A create the caller keeps its own record of: its marker, when it was first tried, and whether this call resumes it.</summary>
/// <param name="Hold">
/// Asked just before each send (after any wait for the rate limit or a retry's delay): renews the caller's right to send this create,
/// false when another worker has taken it over, and then nothing is sent.
/// </param>
/// <param name="Claimed">Whether a prediction id is already held by another of the caller's creates: such a prediction is never adopted.</param>
/// <param name="Contest">
/// Whether other creates of the caller's, sent with the same input and still without their prediction, are older or only newer than
/// this one (instant-id takes no seed; a person may fix one): see <see cref="InputContest"/>.
/// </param>
/// <param name="SentFingerprint">The input earlier sends of this create sent, as the caller recorded it; searched for too.</param>
public sealed record CreateKey(string Marker, DateTimeOffset Since, bool Resumed, Func<CancellationToken, Task<bool>>? Hold = null,
    Func<string, CancellationToken, Task<bool>>? Claimed = null, Func<CancellationToken, Task<InputContest>>? Contest = null,
    string? SentFingerprint = null);

/// <summary>Other creates of the same input that still wait for their prediction, by age.</summary>
public enum InputContest
{
    /// <summary>None: every unclaimed prediction of this input is this create's, and its duplicates are cancelled.</summary>
    None,

    /// <summary>Only newer ones: this create adopts the oldest and cancels nothing (the others may be theirs).</summary>
    OnlyNewer,

    /// <summary>An older one: it adopts first; this create's outcome is unknown for now.</summary>
    Older,
}

/// <summary>
/// Sends of the create ended without an answer and the search for what they made failed too: a prediction may exist. Resume the create
/// with the same marker (the search comes first) rather than give it up or send it under a new one.
/// </summary>
public sealed class CreateOutcomeUnknownException(string marker, Exception inner)
    : Exception($"The create {marker} may have made a prediction: its answer was lost and the search for it failed.", inner)
{
    public string Marker { get; } = marker;
}

/// <summary>Another worker took the create over while this one waited: it sent nothing more, the other goes on with it.</summary>
public sealed class CreateTakenOverException(string marker) : Exception($"The create {marker} was taken over by another worker; nothing more was sent.")
{
    public string Marker { get; } = marker;
}
