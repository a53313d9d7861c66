using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Api.Clients;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Preferences;
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
        users.MapGet("/{user}/preferences", GetPreferences).WithName("GetUserPreferences")
            .WithSummary("What PinGlass learned of one end user's taste from their feedback (and everyone's of the calling client), and how it chooses")
            .WithDescription("""
                Every style, the user's best first: the mean and 95 % interval of its Beta posterior, and the portraits the user and all
                the client's users were for and against; while an experiment that assigns arms by preference runs, its arms likewise
                (`experiment`, `arms`; everyone's in it). A generation with `styleCount` gets its styles chosen from these, and such
                an experiment its arm, exploring as `exploration` says.
                """)
            .ProducesValidationProblem();
        return users;
    }

    public static async Task<Results<Ok<UserPreferences>, ValidationProblem>> GetPreferences(HttpContext context, Caller caller,
        PreferencesService preferences, CancellationToken cancellationToken) =>
        UserInPath(context, fromEnd: 2) is not { } user
            ? InvalidUser()
            : TypedResults.Ok(await preferences.ForAsync(new Owner(caller.ClientId, user), cancellationToken));

    public static async Task<Results<NoContent, Accepted<Erasure>, ValidationProblem>> EraseUser(HttpContext context, Caller caller,
        GenerationErasure erasure, CancellationToken cancellationToken)
    {
        if (UserInPath(context, fromEnd: 1) is not { } user)
        {
            return InvalidUser();
        }

        var erased = await erasure.EraseAsync(new Owner(caller.ClientId, user), null, cancellationToken);
        return erased.FilesPending == 0 ? TypedResults.NoContent() : TypedResults.Accepted((string?)null, erased);
    }

    /// <summary>
    /// The user named in the path's segment <paramref name="fromEnd"/> from its end; null when it is not a valid user id. From the raw
    /// target, not the route value: ASP.NET Core decodes every escape in a route value but %2F, so a user id with a slash in it
    /// (team/alice, sent as team%2Falice) would otherwise match nobody.
    /// </summary>
    private static string? UserInPath(HttpContext context, int fromEnd)
    {
        var target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var user = Uri.UnescapeDataString(target.Split('?', 2)[0].Split('/')[^fromEnd]);
        return EndUsers.IsValid(user) ? user : null;
    }

    private static ValidationProblem InvalidUser() => TypedResults.ValidationProblem(new Dictionary<string, string[]>
    {
        ["user"] = [$"The client's own id for the user: 1–{EndUsers.MaxLength} visible ASCII characters."],
    });
}
