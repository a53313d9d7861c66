using System.Diagnostics;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Preferences;
using PinGlass.Generations.Quotas;
using PinGlass.Generations.Storage;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;
using PinGlass.Replicate;

namespace PinGlass.Generations.Planning;

/// <summary>A request for portraits, checked for shape by the Api.</summary>
/// <param name="BatchSize">Portraits submitted together; null for the configured default.</param>
/// <param name="StyleCount">Styles chosen for the user by their preferences (instead of <paramref name="Styles"/>); null for none.</param>
/// <param name="CallbackUrl">Where the generation's milestones are posted (checked by <c>CallbackTargets</c>); null for none.</param>
public sealed record GenerationOrder(
    IReadOnlyList<UploadedPhoto> Photos,
    IReadOnlyList<string> Styles,
    decimal Budget,
    PortraitOverrides Settings,
    int? BatchSize,
    TimeSpan? BatchDelay,
    Owner? Owner = null,
    IReadOnlyList<IntakeError>? Refused = null,
    string? CallbackUrl = null,
    int? StyleCount = null);

/// <summary>What became of an order: a generation under way, or why none was started.</summary>
public abstract record PlanOutcome
{
    public sealed record Started(Guid Id, CostEstimate Estimate, TimeSpan EstimatedDuration, IReadOnlyList<PhotoAssessment> Photos,
        IReadOnlyList<IntakeError> Refused) : PlanOutcome;

    /// <summary>Too few usable photos, or the upload as a whole was refused: nothing was enqueued.</summary>
    public sealed record NotEnoughPhotos(string Detail, IReadOnlyList<PhotoAssessment> Photos, IReadOnlyList<IntakeError> Refused) : PlanOutcome;

    /// <summary>The estimate exceeds the budget: nothing was enqueued.</summary>
    public sealed record OverBudget(CostEstimate Estimate, decimal Budget) : PlanOutcome;

    /// <summary>The photos could not be analysed now (the faces service is down or has a backlog): nothing was stored.</summary>
    public sealed record PhotosUnanalysed(string Reason) : PlanOutcome;

    /// <summary>Too many uploads are being analysed or waiting to be: nothing was stored.</summary>
    public sealed record AnalysisBusy : PlanOutcome;

    /// <summary>The generation would pass one of its client's limits: nothing was stored.</summary>
    public sealed record OverQuota(QuotaExceeded Exceeded) : PlanOutcome;
}

/// <summary>
/// Turns an order into a generation: the photos are taken in, scored and the references chosen; the estimate is checked against the
/// budget; the references' crops are stored; the generation and its portraits are written; the plan job is queued.
/// </summary>
public sealed partial class GenerationPlanner(AnalysisQueue queue, ReferencePhotos photos, ProviderCrop crop, GenerationStore store, GenerationBlobs blobs, QuotaGuard quota,
    ExperimentStore experiments, PreferencesService preferences, IBackgroundJobClient jobs, IOptions<PipelineOptions> options, IOptions<ReplicateOptions> replicateOptions, TimeProvider time,
    ILogger<GenerationPlanner> logger)
{
    public async Task<PlanOutcome> PlanAsync(GenerationOrder order, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // The running experiment's arm for this user, if any: its settings under the client's own options, its provider estimated.
        var arm = order.Owner is { } assigned && await experiments.RunningAsync(assigned.ClientId, cancellationToken) is { } experiment
            && (experiment.Assignment == ArmAssignmentMode.Preference
                ? await preferences.ChooseArmAsync(assigned, experiment, cancellationToken)
                : ExperimentAssignment.Assign(experiment.Key, assigned.ClientId, assigned.UserId, experiment.Arms)) is { } chosen
            ? new ArmAssignment(experiment.Key, chosen.Name, chosen.Settings)
            : null;
        if (arm is not null)
        {
            order = order with { Settings = arm.Settings.Under(order.Settings) };
        }

        var estimate = settings.Estimate(order.Styles.Count, arm?.Settings.Provider ?? replicateOptions.Value.PrimaryModel);
        if (estimate.Cost > order.Budget)
        {
            return new PlanOutcome.OverBudget(estimate, order.Budget);
        }

        // Refused before the photos are analysed when it cannot fit; checked again, under the client's lock, when it is written.
        if (order.Owner is { } owner && await quota.CheckAsync(owner, order.Budget, cancellationToken) is { } early)
        {
            return new PlanOutcome.OverQuota(early);
        }

        ReferenceReport report;
        try
        {
            using var place = await queue.EnterAsync(order.Owner?.ClientId.ToString() ?? "", cancellationToken);
            if (place is null)
            {
                return new PlanOutcome.AnalysisBusy();
            }

            report = await photos.ProcessAsync(order.Photos, cancellationToken);
        }
        catch (Exception e) when (FacesClient.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            return new PlanOutcome.PhotosUnanalysed(e.Message);
        }

        using var _ = report;
        var assessments = report.Selection.Assessments;
        // Files refused as the upload arrived (past the file limits) are reported with those intake refused.
        IReadOnlyList<IntakeError> refused = [.. order.Refused ?? [], .. report.Refused];
        if (report.UploadError is { } uploadError)
        {
            return new PlanOutcome.NotEnoughPhotos(uploadError.Message, assessments, refused);
        }

        var references = report.Selection.References;
        if (TooFewPhotos(assessments.Count(a => a.Rejection is null), order.Photos.Count + (order.Refused?.Count ?? 0), settings.MinUsablePhotos, references.References.Count) is { } detail)
        {
            return new PlanOutcome.NotEnoughPhotos(detail, assessments, refused);
        }

        var id = Guid.CreateVersion7(time.GetUtcNow());
        // The request's span starts the generation's trace: its jobs, Replicate calls and webhooks continue it.
        Activity.Current?.SetTag("pinglass.generation.id", id);
        var batchSize = order.BatchSize ?? (settings.BatchSize == 0 ? order.Styles.Count : settings.BatchSize);
        var batchDelay = order.BatchDelay ?? settings.BatchDelay;
        // The crops are stored before the row that names them (the plan job reads them); if the row is not written after all (a limit,
        // an error, the caller gone), they are deleted: faces are not kept for a generation that does not exist.
        var written = false;
        try
        {
            for (var k = 0; k < references.References.Count; k++)
            {
                await blobs.SaveReferenceAsync(id, k, crop.Create(references.References[k]).Jpeg, cancellationToken);
            }

            if (await WriteAsync() is { } exceeded)
            {
                return new PlanOutcome.OverQuota(exceeded);
            }

            written = true;
        }
        finally
        {
            if (!written)
            {
                await DeleteReferencesAsync(id);
            }
        }

        jobs.Enqueue<GenerationJobs>(j => j.PlanAsync(id, CancellationToken.None));
        var batches = (order.Styles.Count + batchSize - 1) / batchSize;
        var duration = settings.EstimatedPredictionTime * batches + batchDelay * (batches - 1);
        return new PlanOutcome.Started(id, estimate, duration, assessments, refused);

        Task<QuotaExceeded?> WriteAsync()
        {
            var referencesJson = JsonSerializer.Serialize(references.References.Select((r, k) => new
            {
                index = k,
                fileName = r.Photo.FileName,
                score = Math.Round(r.Score, 3),
            }));
            return store.CreateAsync(new NewGeneration(id, order.Styles, order.Budget, estimate.Cost, batchSize, (int)batchDelay.TotalMilliseconds,
                JsonSerializer.Serialize(order.Settings, PortraitOverrides.Json), JsonSerializer.Serialize(new { photos = assessments, refused },
                    PortraitOverrides.Json), referencesJson, references.Centroid, time.GetUtcNow() + settings.Deadline, order.Owner, order.CallbackUrl, arm), quota, cancellationToken);
        }
    }

    /// <summary>Not cancelled with the request: the caller hanging up is one of the reasons to delete. Trouble is logged, not thrown.</summary>
    private async Task DeleteReferencesAsync(Guid id)
    {
        try
        {
            await blobs.DeleteFilesAsync(id, portraits: false, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogReferencesLeft(logger, id, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The reference crops of generation {GenerationId}, which was not written, could not be deleted")]
    private static partial void LogReferencesLeft(ILogger logger, Guid generationId, Exception exception);

    /// <summary>Why <paramref name="usable"/> usable photos of <paramref name="total"/> cannot start a generation; null when they can.</summary>
    public static string? TooFewPhotos(int usable, int total, int minimum, int references) =>
        usable < minimum || references == 0
            ? $"{usable} of {total} photos can be used; at least {minimum} are needed. Each photo says why it cannot."
            : null;
}
