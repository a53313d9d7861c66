using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using PinGlass.ReplicateEmulator.Files;
using PinGlass.ReplicateEmulator.Http;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Predictions;

namespace PinGlass.ReplicateEmulator.Apis;

/// <summary>Creating, getting, listing and canceling predictions.</summary>
public static class PredictionsApi
{
    public static RouteGroupBuilder MapPredictionsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/predictions", (JsonElement body, HttpContext http, PredictionServices services) =>
                CreateAsync(body, null, http, services))
            .WithMetadata(RateLimitBucket.Create);
        v1.MapPost("/models/{owner}/{name}/predictions", (string owner, string name, JsonElement body, HttpContext http, PredictionServices services) =>
                services.Catalog.Find(owner, name) is { IsOfficial: true } model
                    ? CreateAsync(body, model, http, services)
                    // Community models must be run by version: Replicate answers 404 on this route.
                    : Task.FromResult<Results<Created<PredictionResponse>, ReplicateProblemResult>>(ReplicateErrors.NotFound()))
            .WithMetadata(RateLimitBucket.Create);
        v1.MapGet("/predictions", List);
        v1.MapGet("/predictions/{id}", Get);
        v1.MapPost("/predictions/{id}/cancel", Cancel);
        return v1;
    }

    /// <summary>The prediction's "web" page (<c>urls.web</c>); like replicate.com/p/{id} it needs no token.</summary>
    public static IEndpointRouteBuilder MapPredictionWebPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/p/{id}", Get);
        return app;
    }

    private static async Task<Results<Created<PredictionResponse>, ReplicateProblemResult>> CreateAsync(JsonElement body, ReplicateModel? pathModel,
        HttpContext http, PredictionServices services)
    {
        var (request, error) = CreatePredictionRequest.Parse(body, pathModel, services.Catalog);
        if (error is not null)
        {
            return error;
        }

        TimeSpan? cancelAfter = null;
        if (http.Request.Headers["Cancel-After"].ToString() is { Length: > 0 } header)
        {
            if (!RequestHeaders.TryParseCancelAfter(header, out var parsed) || parsed < RequestHeaders.MinimumCancelAfter)
            {
                return ReplicateErrors.ValidationFailed([new("cancel_after", "Cancel-After",
                    "Cancel-After must be a duration of at least 5 seconds, such as 30s, 5m or 1h30m")]);
            }

            cancelAfter = parsed;
        }

        var prediction = services.Runner.Start(request!, services.BaseUrl.For(http.Request), cancelAfter);
        var waitedOut = false;
        var wait = RequestHeaders.ParsePrefer(http.Request.Headers["Prefer"]);
        if (wait is not null)
        {
            http.Response.Headers["Preference-Applied"] = wait.Value.Applied;
            try
            {
                await prediction.Finished.WaitAsync(services.Clock.ToWall(wait.Value.Hold), http.RequestAborted);
            }
            catch (TimeoutException)
            {
                waitedOut = true;
            }
        }

        // Succeeded within the wait: answered as Replicate answers a blocking create, its outputs inline (replicate-api.md §1.3).
        var inline = !waitedOut && wait is not null && prediction.Status == PredictionStatus.Succeeded
            ? prediction.OutputUrls.Select(services.Deliveries.DataUrl).ToList()
            : null;
        var response = inline is not null && inline.All(url => url is not null)
            ? prediction.ToSyncResponse([.. inline.OfType<string>()])
            : prediction.ToResponse(reportAsStarting: waitedOut);
        return TypedResults.Created(response.Urls.Get, response);
    }

    private static Results<Ok<PredictionResponse>, ReplicateProblemResult> Get(string id, PredictionStore store) =>
        store.Find(id) is { } prediction ? TypedResults.Ok(prediction.ToResponse()) : ReplicateErrors.NotFound();

    private static Results<Ok<PredictionResponse>, ReplicateProblemResult> Cancel(string id, PredictionServices services)
    {
        if (services.Store.Find(id) is not { } prediction)
        {
            return ReplicateErrors.NotFound();
        }

        services.Runner.Cancel(prediction);
        return TypedResults.Ok(prediction.ToResponse());
    }

    private static Ok<PredictionPage> List(HttpRequest request, [FromQuery(Name = "created_after")] DateTimeOffset? createdAfter,
        [FromQuery(Name = "created_before")] DateTimeOffset? createdBefore, PredictionServices services)
    {
        var matching = services.Store.All.Where(p => (createdAfter is null || p.CreatedAt >= createdAfter) && (createdBefore is null || p.CreatedAt < createdBefore));
        var page = Pagination.Paginate(matching, p => p.Sequence, request, services.BaseUrl.For(request));
        // The published example of a listed prediction has no webhook: a client that looks for one there finds nothing, as it would at
        // Replicate (a GET of one prediction echoes it, as recorded responses do).
        return TypedResults.Ok(new PredictionPage(page.Next, page.Previous,
            [.. page.Items.Select(p => p.ToResponse() with { Webhook = null, WebhookEventsFilter = null })]));
    }
}

/// <summary>The services the prediction endpoints share, registered as one singleton.</summary>
public sealed record PredictionServices(PredictionStore Store, PredictionRunner Runner, ModelCatalog Catalog, BaseUrl BaseUrl, Clock Clock,
    DeliveryStore Deliveries);
