// Over 300 lines on purpose: a prediction's whole emulated life (boot, render, run, fail, cancel, deadline, bill, retention) in one
// place, so each transition's timing is read beside the others.
using Microsoft.Extensions.Options;
using PinGlass.ReplicateEmulator.Billing;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Files;
using PinGlass.ReplicateEmulator.Images;
using PinGlass.ReplicateEmulator.Latency;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Telemetry;
using PinGlass.ReplicateEmulator.Webhooks;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.ReplicateEmulator.Predictions;

/// <summary>
/// Runs predictions through their lifecycle on the latency model: starting (queue, cold boot) → processing →
/// succeeded / failed, or canceled / aborted by the cancel endpoint or the <c>Cancel-After</c> deadline;
/// bills each in the ledger, sends its webhooks, and removes its data after the retention period.
/// </summary>
public sealed class PredictionRunner(
    PredictionStore store,
    LatencyModel latency,
    Ledger ledger,
    FaultInjector faults,
    WebhookDispatcher webhooks,
    InputImageLoader images,
    ImageRenderer renderer,
    DeliveryStore deliveries,
    Clock clock,
    IOptions<EmulatorOptions> options,
    EmulatorMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<PredictionRunner> logger)
{
    /// <summary>Replicate fails predictions that have not finished after 30 minutes.</summary>
    public static readonly TimeSpan MaxRunTime = TimeSpan.FromMinutes(30);

    /// <summary>Error texts Replicate users have seen, used when a <c>prediction_failed</c> rule gives none.</summary>
    public static readonly string[] RealErrors =
    [
        "CUDA out of memory. Tried to allocate 2.25 GiB (GPU 0; 39.39 GiB total capacity; 35.60 GiB already allocated; 1.66 GiB free; " +
        "36.64 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting max_split_size_mb to avoid " +
        "fragmentation.  See documentation for Memory Management and PYTORCH_CUDA_ALLOC_CONF",
        "NSFW content detected. Try running it again, or try a different prompt.",
        "Prediction interrupted; please retry (code: PA)",
    ];

    /// <summary>Wall time before a prediction's boot ends that its rendering starts: about what a render takes on a loaded machine.</summary>
    private static readonly TimeSpan RenderAhead = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim renderSlots = new(Environment.ProcessorCount);
    private readonly TimeSpan retention = options.Value.RetentionPeriod;

    public Prediction Start(CreatePredictionRequest request, string baseUrl, TimeSpan? cancelAfter)
    {
        var model = request.Model;
        var input = new ModelInput(model, request.Input);
        var forcedColdStart = faults.TryFire(FaultKind.ColdStart, model.FullName) is { } cold ? cold.Duration ?? TimeSpan.Zero : (TimeSpan?)null;
        var plan = latency.Plan(model, input.Outputs, forcedColdStart);
        if (faults.TryFire(FaultKind.SlowPrediction, model.FullName) is { } slow)
        {
            // The model computes longer than it should (a slow GPU, a stuck step): billed for every second it runs, as Replicate bills.
            plan = plan with { PredictTime = plan.PredictTime + (slow.Duration ?? plan.PredictTime * 4) };
        }

        // Kept to the microsecond, as Replicate's timestamps are: a client filtering by a created_at it was sent gets exactly it.
        var now = clock.UtcNow;
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var prediction = new Prediction(PredictionStore.NewId(), store.NextSequence(), model, request.Version, request.Input, baseUrl,
            request.Webhook, request.WebhookEventsFilter, now, cancelAfter is { } after ? now + clock.ToWall(after) : null, plan);
        store.Add(prediction);
        logger.PredictionCreated(prediction.Id, model.FullName, request.Webhook is not null);

        var deadline = cancelAfter is { } limit
            ? clock.Time.CreateTimer(_ => End(prediction, deadlinePassed: true), null, clock.ToWall(limit), Timeout.InfiniteTimeSpan)
            : null;
        _ = Task.Run(() => RunAsync(prediction, input, deadline));
        return prediction;
    }

    /// <summary>The cancel endpoint: a running or starting prediction becomes <c>canceled</c>.</summary>
    public void Cancel(Prediction prediction) => End(prediction, deadlinePassed: false);

    private async Task RunAsync(Prediction prediction, ModelInput input, ITimer? deadline)
    {
        var model = prediction.Model;
        var plan = prediction.Plan;
        var token = prediction.Stop.Token;
        try
        {
            if (faults.TryFire(FaultKind.ModelDown, model.FullName, prediction.Id) is not null)
            {
                // The model never boots: the prediction stays starting until Replicate's timeout.
                await clock.Delay(MaxRunTime, token);
                Finish(prediction, PredictionStatus.Failed, null, "Prediction timed out");
                return;
            }

            // The model's work is done at the end of its boot: once processing, a prediction lasts exactly its planned predict time
            // however busy this machine is (Replicate's predict_time is the processing phase's length, and a cancel must find it as its
            // plan says). Rendering starts a wall-clock second before the boot ends: a long cold boot renders nothing meanwhile.
            var seed = input.Integer("seed") is { } given and not -1 ? given : Random.Shared.Next();
            var renderAhead = clock.ToReplicate(RenderAhead);
            await clock.Delay(plan.StartDelay - renderAhead, token);
            var rendering = RenderAsync(prediction, input, seed, token);
            IReadOnlyList<string> outputs;
            try
            {
                await Task.WhenAll(clock.Delay(plan.StartDelay < renderAhead ? plan.StartDelay : renderAhead, token), rendering);
                outputs = await rendering;
            }
            catch (OperationCanceledException) when (rendering.IsCompletedSuccessfully)
            {
                deliveries.Remove(rendering.Result); // canceled or aborted while booting: its images are never published
                throw;
            }

            if (!prediction.TryStart(clock.UtcNow, $"Using seed: {seed}\n"))
            {
                deliveries.Remove(outputs);
                return;
            }

            webhooks.Notify(prediction, WebhookEvents.Start);
            webhooks.Notify(prediction, WebhookEvents.Logs);

            if (input.Refusal is { } refused)
            {
                // The model's code checks it as it starts: a failed prediction, billed for the moment it ran, nothing made.
                deliveries.Remove(outputs);
                var ranFor = TimeSpan.FromSeconds(0.5);
                await clock.Delay(ranFor, token);
                Finish(prediction, PredictionStatus.Failed, ranFor, refused);
                return;
            }

            if (faults.TryFire(FaultKind.PredictionFailed, model.FullName, prediction.Id) is { } failure)
            {
                deliveries.Remove(outputs);
                var ranFor = plan.PredictTime * (0.1 + (0.8 * Random.Shared.NextDouble()));
                await clock.Delay(ranFor, token);
                Finish(prediction, PredictionStatus.Failed, ranFor,
                    string.IsNullOrEmpty(failure.Error) ? RealErrors[Random.Shared.Next(RealErrors.Length)] : failure.Error);
                return;
            }

            prediction.Rendered = outputs;
            try
            {
                await clock.Delay(plan.PredictTime, token);
            }
            catch (OperationCanceledException) when (prediction.Status != PredictionStatus.Succeeded)
            {
                deliveries.Remove(outputs); // canceled while processing: its images are never published
                throw;
            }

            if (!prediction.TrySetOutput(outputs))
            {
                deliveries.Remove(outputs);
                return;
            }

            webhooks.Notify(prediction, WebhookEvents.Output);

            Finish(prediction, PredictionStatus.Succeeded, plan.PredictTime, null);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Ended by the cancel endpoint or the deadline, which already recorded the outcome.
        }
        catch (InputFileException e)
        {
            Finish(prediction, PredictionStatus.Failed, RanFor(prediction), e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug in the emulator must still end the prediction, as Replicate fails a crashed one.
            Finish(prediction, PredictionStatus.Failed, RanFor(prediction), $"Internal error: {e.Message}");
        }
        finally
        {
            deadline?.Dispose();
        }

        latency.Used(model);
        await RemoveDataAfterRetentionAsync(prediction);
    }

    private async Task<IReadOnlyList<string>> RenderAsync(Prediction prediction, ModelInput input, long seed, CancellationToken token)
    {
        var face = input.FaceImage is { } source ? await images.LoadAsync(source, token) : null;
        var faceSource = faults.TryFire(FaultKind.WrongFace, prediction.Model.FullName, prediction.Id) is not null ? FaceSource.OtherPerson
            : face is null || faults.TryFire(FaultKind.NoFace, prediction.Model.FullName, prediction.Id) is not null ? FaceSource.None
            : FaceSource.Input;
        using var blank = face is null ? ImageRenderer.Blank() : null;
        var format = input.Format;
        var size = prediction.Model.Output.SizedByFace ? SizeOfFace(face ?? blank!) : OutputSize(input, face ?? blank!);
        var deliveryToken = DeliveryStore.NewToken();
        var urls = new List<string>();
        try
        {
            for (var i = 0; i < input.Outputs; i++)
            {
                await renderSlots.WaitAsync(token);
                try
                {
                    var request = new RenderRequest(prediction.Id, i, size, format, (int)(input.Integer("output_quality") ?? 80),
                        input.String("prompt") ?? "", seed + i, faceSource);
                    var bytes = await Task.Run(() => renderer.Render(face ?? blank!, request), token);
                    urls.Add(deliveries.Add(prediction.BaseUrl, deliveryToken, $"out-{i}.{format}", new(bytes, ImageRenderer.ContentType(format), prediction.Model.FullName)));
                }
                finally
                {
                    renderSlots.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Canceled part-way: the images already stored are never published.
            deliveries.Remove(urls);
            throw;
        }

        return urls;
    }

    /// <summary>width/height when the model has them, else an aspect ratio at about one megapixel (flux-kontext).</summary>
    private static Size OutputSize(ModelInput input, Image face)
    {
        if (input.Integer("width") is { } width && input.Integer("height") is { } height)
        {
            return new Size((int)width, (int)height);
        }

        var ratio = input.String("aspect_ratio") is { } aspect && aspect.Split(':') is [var w, var h]
            ? double.Parse(w, System.Globalization.CultureInfo.InvariantCulture) / double.Parse(h, System.Globalization.CultureInfo.InvariantCulture)
            : (double)face.Width / face.Height;
        var outWidth = Math.Sqrt(1024 * 1024 * ratio);
        return new Size(RoundTo16(outWidth), RoundTo16(outWidth / ratio));
    }

    /// <summary>
    /// instant-id's size (its cog <c>predict.py</c>, <c>resize_img</c>): the face image scaled so its short side is 1024, then so its
    /// long side is 1280, each side floored to a multiple of 64; <c>width</c>/<c>height</c> only size its face detector.
    /// </summary>
    internal static Size SizeOfFace(Image face)
    {
        var toShort = 1024.0 / Math.Min(face.Width, face.Height);
        var (width, height) = (Math.Round(toShort * face.Width), Math.Round(toShort * face.Height));
        var toLong = 1280 / Math.Max(width, height);
        return new Size((int)Math.Round(toLong * width) / 64 * 64, (int)Math.Round(toLong * height) / 64 * 64);
    }

    private static int RoundTo16(double value) => Math.Max(16, (int)Math.Round(value / 16) * 16);

    private void End(Prediction prediction, bool deadlinePassed)
    {
        // Its planned predict time has run, but the runner's wait has not ended yet (a continuation late on a busy machine): on
        // Replicate it would have succeeded already, so a cancel (or the deadline) finds it succeeded, as a cancel of an ended
        // prediction does ("POST /predictions/{id}/cancel" answers an ended prediction as it is).
        if (prediction.Status == PredictionStatus.Processing && prediction.Rendered is { } made && prediction.StartedAt is { } started
            && clock.UtcNow >= started + clock.ToWall(prediction.Plan.PredictTime) && prediction.TrySetOutput(made))
        {
            webhooks.Notify(prediction, WebhookEvents.Output);
            Finish(prediction, PredictionStatus.Succeeded, prediction.Plan.PredictTime, null);
            return;
        }

        var status = prediction.Status == PredictionStatus.Starting && deadlinePassed ? PredictionStatus.Aborted : PredictionStatus.Canceled;
        Finish(prediction, status, prediction.StartedAt is null ? null : RanFor(prediction), null);
    }

    /// <summary>Replicate seconds the prediction has been processing, at most its planned predict time.</summary>
    private TimeSpan RanFor(Prediction prediction) => prediction.StartedAt is { } started
        ? TimeSpan.FromTicks(Math.Min(clock.ToReplicate(clock.UtcNow - started).Ticks, prediction.Plan.PredictTime.Ticks))
        : TimeSpan.Zero;

    private void Finish(Prediction prediction, string status, TimeSpan? predictTime, string? error)
    {
        var now = clock.UtcNow;
        var plan = prediction.Plan;
        // Succeeded and failed predictions report modelled times; ended ones the modelled time they lasted.
        var total = status is PredictionStatus.Succeeded or PredictionStatus.Failed && prediction.StartedAt is not null
            ? plan.StartDelay + (predictTime ?? TimeSpan.Zero)
            : clock.ToReplicate(now - prediction.CreatedAt);
        double? predictSeconds = predictTime is { } p ? Math.Round(p.TotalSeconds, 6) : null;
        var log = status switch
        {
            PredictionStatus.Succeeded => $"Generated {prediction.OutputUrls.Count} image(s) in {predictSeconds:0.00}s\n",
            PredictionStatus.Failed => $"{error}\n",
            _ => "",
        };
        if (!prediction.TryFinish(status, now, predictSeconds, Math.Round(total.TotalSeconds, 6), error, log))
        {
            return;
        }

        prediction.Stop.Cancel();
        if (status == PredictionStatus.Failed)
        {
            logger.PredictionFailed(prediction.Id, error ?? "");
        }

        var outputs = status == PredictionStatus.Succeeded ? prediction.OutputUrls.Count : 0;
        ledger.Record(prediction.Id, prediction.Model, prediction.Version, status, predictSeconds, outputs, now);
        metrics.PredictionFinished(prediction.Model.FullName, status);
        logger.PredictionFinished(prediction.Id, prediction.Model.FullName, status, predictSeconds ?? 0);
        webhooks.Notify(prediction, WebhookEvents.Completed);
    }

    private async Task RemoveDataAfterRetentionAsync(Prediction prediction)
    {
        try
        {
            await clock.Delay(retention, lifetime.ApplicationStopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        RemoveData(prediction);
    }

    /// <summary>Removes the prediction's input, output files and logs, as Replicate does once the retention period has passed.</summary>
    public void RemoveData(Prediction prediction)
    {
        deliveries.Remove(prediction.RemoveData());
        logger.DataRemoved(prediction.Id);
    }
}
