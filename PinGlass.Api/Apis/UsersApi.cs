using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Privacy;

namespace PinGlass.Api.Apis;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        // The user is named in the path: the calling client's own id for them, as in X-PinGlass-User elsewhere.
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

    public static async Task<Results<NoContent, Accepted<Erasure>, ValidationProblem>> EraseUser(string user, Caller caller, GenerationErasure erasure,
        CancellationToken cancellationToken)
    {
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
