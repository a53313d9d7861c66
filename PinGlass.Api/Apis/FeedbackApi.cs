using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Preferences;

namespace PinGlass.Api.Apis;

/// <summary>What end users say of their portraits: the signal preferences are learned from (<see cref="PreferencesService"/>).</summary>
public static class FeedbackApi
{
    public static RouteGroupBuilder MapFeedbackApi(this IEndpointRouteBuilder app)
    {
        var generations = app.MapGroup("/v1/generations").WithTags("Feedback").RequireAuthorization().AddEndpointFilter<EndUserFilter>();
        generations.MapPost("/{id:guid}/portraits/{index:int}/feedback", PostFeedback).WithName("PostPortraitFeedback")
            .WithSummary("Say something of a delivered portrait: like, dislike, favourite, downloaded or shared")
            .WithDescription("""
                Body `{"kind": "like"}`. Each kind counts once per portrait (sent again, it changes nothing); a like or favourite
                replaces a dislike and a dislike both. Answers the portrait's kinds now. 404 for a portrait that is not the caller's;
                409 for one not delivered.
                """)
            .ProducesValidationProblem();
        return generations;
    }

    public static async Task<Results<Ok<PortraitFeedback>, ValidationProblem, ProblemHttpResult>> PostFeedback(Guid id, int index, FeedbackRequest request,
        Caller caller, FeedbackStore feedback, CancellationToken cancellationToken)
    {
        if (!StatusNames.TryParse<FeedbackKind>(request.Kind, out var kind))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["kind"] = ["kind is one of like, dislike, favourite, downloaded, shared."],
            });
        }

        var (outcome, kinds) = await feedback.RecordAsync(caller.Owner, id, index, kind, cancellationToken);
        return outcome switch
        {
            FeedbackOutcome.Recorded => TypedResults.Ok(new PortraitFeedback(id, index, kinds)),
            FeedbackOutcome.NotDelivered => TypedResults.Problem(title: "The portrait has not been delivered",
                detail: "Feedback is for a portrait that was delivered.", statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.Problem(title: "No such portrait", detail: $"There is no portrait {index} of generation {id}.",
                statusCode: StatusCodes.Status404NotFound),
        };
    }
}

public sealed record FeedbackRequest(string? Kind);

public sealed record PortraitFeedback(Guid GenerationId, int Index, IReadOnlyList<string> Kinds);
