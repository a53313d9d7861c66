// Over 300 lines on purpose: the generations group's eight endpoints (create, read, follow, a portrait, all as a zip, cancel, retry, erase) and
// their typed results in one file, as eShop keeps an API group; each endpoint hands its work to a service.
using System.ComponentModel;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Hangfire;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using PinGlass.Api.Clients;
using PinGlass.Api.Quotas;
using PinGlass.Generations.Styles;
using PinGlass.Generations;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Preferences;
using PinGlass.Generations.Privacy;
using PinGlass.Generations.Progress;
using PinGlass.Generations.Quotas;
using PinGlass.Generations.Storage;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;

namespace PinGlass.Api.Apis;

public static class GenerationsApi
{
    /// <summary>How long a client is asked to wait before sending an upload again when its photos could not be analysed.</summary>
    private const int FacesRetryAfterSeconds = 10;

    public static RouteGroupBuilder MapGenerationsApi(this IEndpointRouteBuilder app)
    {
        // Every call is a client application's (its API key) about one of its end users (X-PinGlass-User): another client's or user's
        // generation is the same 404 as one that does not exist.
        var generations = app.MapGroup("/v1/generations").WithTags("Generations").RequireAuthorization().AddEndpointFilter<EndUserFilter>();

        generations.MapPost("/", CreateGeneration)
            .WithName("CreateGeneration")
            .WithSummary("Start a generation from 10–20 photos")
            .WithDescription("""
                multipart/form-data: 10–20 photos as files (each at most 30 MB; files past either limit are refused with their reason,
                and 9 or 21 files are a 400 naming them); `styles` (optional, comma-separated style ids, default all 23) or
                `styleCount` (1–23: that many chosen by the user's preferences, GET /v1/users/{user}/preferences); `budget`
                (optional, USD); `options` (optional JSON: steps, seed, outputFormat, idWeightScale); `batchSize` and `batchDelayMs`
                (optional: the design's batch loop is 3 and 1000); `callbackUrl` (optional, https: its milestones are posted there,
                signed with the client's webhook secret, GET /v1/webhooks/secret). Answers 202 with the generation's id, estimated cost and ETA, and
                what became of each photo.
                """)
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(UploadLimit))
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        generations.MapGet("/{id:guid}", GetGeneration).WithName("GetGeneration").WithSummary("A generation: status, progress, portraits, cost");
        generations.MapGet("/{id:guid}/events", FollowGeneration).WithName("FollowGeneration")
            .WithSummary("Live progress as server-sent events (event `progress`, id = version), until the generation ends; `Last-Event-ID` resumes")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        generations.MapGet("/{id:guid}/portraits/{index:int}", GetPortrait).WithName("GetPortrait").WithSummary("A stored portrait image");
        generations.MapGet("/{id:guid}/portraits/archive", GetPortraitsArchive).WithName("GetPortraitsArchive")
            .WithSummary("Every delivered portrait in one zip (NN-style.ext); 404 while none is");
        generations.MapPost("/{id:guid}/cancel", CancelGeneration).WithName("CancelGeneration")
            .WithSummary("Stop a generation: every prediction still running is cancelled on Replicate");
        generations.MapPost("/{id:guid}/portraits/{index:int}/retry", RetryPortrait).WithName("RetryPortrait")
            .WithSummary("Make one portrait of an ended generation again (until its faces are deleted, a day after it ended by default)")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        generations.MapDelete("/{id:guid}", EraseGeneration).WithName("EraseGeneration")
            .WithSummary("Erase a generation: its photos, faces and portraits; a running one is cancelled first")
            .WithDescription("""
                204 once everything is deleted; 202 while the predictions of a running generation are being cancelled, its files deleted
                right after. From the first moment it is the 404 of a generation that does not exist. Its cost stays in the client's
                costs. Replicate deletes its own copy of each prediction's inputs and outputs an hour after the prediction was made.
                """);
        return generations;
    }

    /// <summary>20 photos at the intake limit, and room for the form around them.</summary>
    private const long UploadLimit = 20L * 30_000_000 + 1_000_000;

    public static async Task<Results<AcceptedAtRoute<GenerationCreated>, ValidationProblem, ProblemHttpResult>> CreateGeneration(
        HttpRequest request, Caller caller, StyleCatalog catalog, GenerationPlanner planner, IOptions<PipelineOptions> options,
        IOptions<IntakeOptions> intake, IOptions<ClientWebhookOptions> webhooks, PreferencesService preferences, AnalysisQueue queue,
        CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
        {
            return TypedResults.Problem(title: "Photos are sent as multipart/form-data", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        // A full queue would refuse the upload after it arrived: refuse it before it is read.
        if (queue.RefusesNow(caller.ClientId.ToString()))
        {
            return Busy(request.HttpContext.Response);
        }

        var (order, errors, refused) = await NewGenerationForm.ReadAsync(request, catalog, options.Value, intake.Value, webhooks.Value,
            cancellationToken);
        if (order is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The request cannot be used as it is",
                extensions: new Dictionary<string, object?> { ["refused"] = refused });
        }

        order = order with { Owner = caller.Owner };
        if (order.StyleCount is { } count)
        {
            order = order with { Styles = await preferences.ChooseStylesAsync(caller.Owner, count, cancellationToken) };
        }

        return await planner.PlanAsync(order, cancellationToken) switch
        {
            PlanOutcome.Started started => TypedResults.AcceptedAtRoute(
                new GenerationCreated(started.Id, GenerationStatus.Queued.Name(), started.Estimate.Cost, started.Estimate.WithRetries,
                    started.EstimatedDuration.TotalSeconds, started.Photos,
                    started.Refused),
                "GetGeneration", new { id = started.Id }),
            PlanOutcome.NotEnoughPhotos tooFew => TypedResults.Problem(title: "Not enough usable photos", detail: tooFew.Detail,
                statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?> { ["photos"] = tooFew.Photos, ["refused"] = tooFew.Refused }),
            PlanOutcome.OverBudget over => TypedResults.Problem(title: "The estimate exceeds the budget",
                detail: $"These portraits are estimated at ${over.Estimate.Cost:0.000}; the budget is ${over.Budget:0.00}. Raise the budget or choose fewer styles.",
                statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?>
                {
                    ["estimatedCost"] = over.Estimate.Cost, ["estimatedCostWithRetries"] = over.Estimate.WithRetries, ["budget"] = over.Budget,
                }),
            PlanOutcome.PhotosUnanalysed => Unanalysed(request.HttpContext.Response),
            PlanOutcome.AnalysisBusy => Busy(request.HttpContext.Response),
            PlanOutcome.OverQuota over => QuotaProblems.Refused(request.HttpContext.Response, over.Exceeded),
            var other => throw new InvalidOperationException($"Unexpected plan outcome {other}."),
        };
    }

    /// <summary>The photos could not be analysed now: nothing was stored, and the same upload can be sent again after Retry-After.</summary>
    private static ProblemHttpResult Unanalysed(HttpResponse response)
    {
        response.Headers.RetryAfter = FacesRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(title: "Photo analysis is unavailable for the moment",
            detail: "The photos could not be analysed now; nothing was stored. Send them again after the Retry-After delay.",
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The analysis queue is full (<c>Photos:AnalysisQueue</c>): nothing was read or stored; the upload is sent again later.</summary>
    private static ProblemHttpResult Busy(HttpResponse response)
    {
        response.Headers.RetryAfter = FacesRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(title: "Too many uploads are being analysed",
            detail: "Photo analysis has no room for this upload now (the queue is full, or this client application has its share of uploads in it); nothing was stored. Send it again after the Retry-After delay.",
            statusCode: StatusCodes.Status503ServiceUnavailable, extensions: new Dictionary<string, object?> { ["limit"] = "photo_analysis" });
    }

    public static async Task<Results<Ok<GenerationView>, ProblemHttpResult>> GetGeneration(Guid id, Caller caller, GenerationStore store,
        PortraitStore portraitStore, PredictionLedger ledger, IOptions<PipelineOptions> options, IOptions<RetentionOptions> retention, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, caller.Owner, cancellationToken) is not { } generation)
        {
            return NotFound(id);
        }

        var portraits = await portraitStore.PortraitsAsync(id, cancellationToken);
        var predictions = await ledger.PredictionsAsync(id, cancellationToken);
        return TypedResults.Ok(GenerationView.From(generation, portraits, predictions,
            GenerationProgress.From(generation, time.GetUtcNow(), options.Value.EstimatedPredictionTime), retention.Value));
    }

    /// <param name="lastEventId">
    /// The last version the client has (a reconnecting <c>EventSource</c> sends it): every change newer than it is sent, and a client that
    /// has the end is answered 204, which tells an <c>EventSource</c> to stop reconnecting.
    /// </param>
    public static async Task<Results<ServerSentEventsResult<GenerationProgress>, NoContent, ProblemHttpResult>> FollowGeneration(Guid id,
        Caller caller, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, GenerationStore store, ProgressChannel channel, ProgressLog log,
        EventStreamLimits limits, IOptions<PipelineOptions> options, TimeProvider time, HttpResponse response, CancellationToken cancellationToken)
    {
        // A stream holds its lease until its request ends, whichever way it ends.
        var lease = limits.Open(caller.ClientId);
        response.RegisterForDispose(lease);
        if (!lease.IsAcquired)
        {
            return QuotaProblems.Refused(response, limits.Exceeded());
        }

        // Subscribe before reading the current state, so no change falls between the two.
        var subscription = await channel.SubscribeAsync(id);
        var estimate = options.Value.EstimatedPredictionTime;
        if (await store.GetAsync(id, caller.Owner, cancellationToken) is not { } generation)
        {
            await DisposeAsync(subscription);
            return NotFound(id);
        }

        var first = GenerationProgress.From(generation, time.GetUtcNow(), estimate);
        var seen = long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : -1;
        if (first.IsTerminal && first.Version == seen)
        {
            await DisposeAsync(subscription);
            return TypedResults.NoContent();
        }

        var follower = new ProgressFollower(subscription?.Events, (since, token) => log.SinceAsync(id, since, token), options.Value.ProgressCatchUp, time);
        return TypedResults.ServerSentEvents(Stream(follower.FollowAsync(first, seen, cancellationToken), subscription, cancellationToken));
    }

    /// <summary>The follower's events as server-sent events (id = version); the Redis subscription ends with the stream.</summary>
    private static async IAsyncEnumerable<SseItem<GenerationProgress>> Stream(IAsyncEnumerable<GenerationProgress> progress,
        ProgressSubscription? subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in progress.WithCancellation(cancellationToken))
            {
                yield return Item(change);
            }
        }
        finally
        {
            await DisposeAsync(subscription);
        }
    }

    private static async ValueTask DisposeAsync(ProgressSubscription? subscription)
    {
        if (subscription is not null)
        {
            await subscription.DisposeAsync();
        }
    }

    private static SseItem<GenerationProgress> Item(GenerationProgress progress) =>
        new(progress, "progress") { EventId = progress.Version.ToString(CultureInfo.InvariantCulture) };

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetPortrait(Guid id, int index, Caller caller,
        GenerationStore generations, PortraitStore store, GenerationBlobs blobs, CancellationToken cancellationToken)
    {
        if (await generations.GetAsync(id, caller.Owner, cancellationToken) is null)
        {
            return NotFound(id);
        }

        if (await store.PortraitAsync(id, index, cancellationToken) is not { } portrait)
        {
            return TypedResults.Problem(title: "No such portrait", detail: $"Generation {id} has no portrait {index}.", statusCode: StatusCodes.Status404NotFound);
        }

        if (portrait is not { ShowsImage: true, BlobName: { } blobName }
            || await blobs.OpenPortraitAsync(blobName, cancellationToken) is not { } blob)
        {
            return TypedResults.Problem(title: "The portrait is not ready", detail: $"Portrait {index} is {portrait.Status.Name()}.",
                statusCode: StatusCodes.Status404NotFound);
        }

        return TypedResults.Stream(blob.Content, portrait.ContentType, $"{portrait.StyleId}{Path.GetExtension(blobName)}");
    }

    public static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> GetPortraitsArchive(Guid id, Caller caller, GenerationStore generations,
        PortraitArchive archive, HttpContext http, CancellationToken cancellationToken)
    {
        // ZipArchive writes each entry's header and the central directory synchronously (the test's download broke off without this):
        // allowed for this response alone, which blocks its thread for those small writes, not for the images' bytes.
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        if (await generations.GetAsync(id, caller.Owner, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var shown = await archive.ShownAsync(id, cancellationToken);
        return shown.Count > 0
            ? TypedResults.Stream(body => archive.WriteAsync(shown, body, cancellationToken), "application/zip", $"pinglass-{id}.zip")
            : TypedResults.Problem(title: "No portrait is ready", detail: $"Generation {id} has delivered no portrait yet.", statusCode: StatusCodes.Status404NotFound);
    }

    public static async Task<Results<Accepted, ProblemHttpResult>> CancelGeneration(Guid id, Caller caller, GenerationStore store,
        IBackgroundJobClient jobs, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, caller.Owner, cancellationToken) is not { } generation)
        {
            return NotFound(id);
        }

        if (generation.IsTerminal)
        {
            return TypedResults.Problem(title: "The generation has ended", detail: $"It ended {generation.Status.Name()}.", statusCode: StatusCodes.Status409Conflict);
        }

        // A repeated cancel is answered the same way, but only the first queues the job.
        if (await store.RequestCancelAsync(id, cancellationToken))
        {
            jobs.Enqueue<GenerationJobs>(j => j.CancelAsync(id, CancellationToken.None));
        }

        return TypedResults.Accepted($"/v1/generations/{id}");
    }

    public static async Task<Results<Accepted, ProblemHttpResult>> RetryPortrait(Guid id, int index, Caller caller, GenerationStore store,
        PortraitStore portraits, QuotaGuard quota, IBackgroundJobClient jobs, HttpResponse response, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, caller.Owner, cancellationToken) is not { } generation
            || await portraits.PortraitAsync(id, index, cancellationToken) is null)
        {
            return NotFound(id);
        }

        // Running again, the generation holds its budget again: the user's and client's limits must have room for it.
        var (reopened, exceeded) = await portraits.ReopenAsync(id, index, quota, cancellationToken);
        if (exceeded is not null)
        {
            return QuotaProblems.Refused(response, exceeded);
        }

        if (!reopened)
        {
            return TypedResults.Problem(title: "The portrait cannot be retried now",
                detail: generation.CancelRequestedAt is not null ? "The generation was cancelled."
                    : generation.FacesDeletedAt is not null ? "Its reference photos were deleted, as PinGlass's retention says: start a new generation."
                    : "A portrait is retried once its generation has ended (and not while a retry is running).",
                statusCode: StatusCodes.Status409Conflict);
        }

        jobs.Enqueue<GenerationJobs>(j => j.RetryPortraitAsync(id, index, CancellationToken.None));
        return TypedResults.Accepted($"/v1/generations/{id}");
    }

    public static async Task<Results<NoContent, Accepted<Erasure>, ProblemHttpResult>> EraseGeneration(Guid id, Caller caller,
        GenerationErasure erasure, CancellationToken cancellationToken) =>
        await erasure.EraseAsync(caller.Owner, id, cancellationToken) switch
        {
            { Generations: 0 } => NotFound(id),
            { FilesPending: 0 } => TypedResults.NoContent(),
            var pending => TypedResults.Accepted((string?)null, pending),
        };

    private static ProblemHttpResult NotFound(Guid id) =>
        TypedResults.Problem(title: "No such generation", detail: $"There is no generation {id}.", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>The answer to a new generation.</summary>
public sealed record GenerationCreated(Guid Id, string Status, decimal EstimatedCost,
    [property: Description("The estimate with the expected share of portraits made again (Pipeline:ExpectedRetryRate)")] decimal EstimatedCostWithRetries,
    [property: Description("Seconds")] double EstimatedTimeRemaining,
    IReadOnlyList<PinGlass.Photos.Selection.PhotoAssessment> Photos, IReadOnlyList<IntakeError> Refused);
