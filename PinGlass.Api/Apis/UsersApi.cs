using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Privacy;

namespace PinGlass.Api.Apis;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        // The user is named in the path (percent-encoded): the calling client's own id for them, as in X-PinGlass-User elsewhere.
        var users = app.MapGroup("/v1/users").WithTags("Users").RequireAuthorization();
        users.MapDelete("/{user}", EraseUser).WithName("EraseUser")
            .WithSummary("Erase everything of one end user of the calling client: every generation's photos, faces and portraits")
            .WithDescription("""
                Running generations are cancelled first. 204 once everything is deleted (also when the user had nothing); 202 while
                the predictions of running generations are being cancelled, their files deleted right after. The spend stays in the
                client's costs, owned by no user. Replicate deletes its own copy of each prediction's inputs and outputs an hour after
                the prediction was made.
                """)
            .ProducesValidationProblem();
        return users;
    }

    public static async Task<Results<NoContent, Accepted<Erasure>, ValidationProblem>> EraseUser(HttpContext context, Caller caller,
        GenerationErasure erasure, CancellationToken cancellationToken)
    {
        // From the raw target, not the route value: ASP.NET Core decodes every escape in a route value but %2F, so a user id with a
        // slash in it (team/alice, sent as team%2Falice) would otherwise match nobody, and be answered as erased.
        var target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var user = Uri.UnescapeDataString(target.Split('?', 2)[0].Split('/')[^1]);
        if (!EndUsers.IsValid(user))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["user"] = [$"The client's own id for the user: 1–{EndUsers.MaxLength} visible ASCII characters."],
            });
        }

        var erased = await erasure.EraseAsync(new Owner(caller.ClientId, user), null, cancellationToken);
        return erased.FilesPending == 0 ? TypedResults.NoContent() : TypedResults.Accepted((string?)null, erased);
    }
}
