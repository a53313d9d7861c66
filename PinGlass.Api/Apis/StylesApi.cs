using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.Generations.Styles;

namespace PinGlass.Api.Apis;

public static class StylesApi
{
    public static RouteGroupBuilder MapStylesApi(this IEndpointRouteBuilder app)
    {
        var styles = app.MapGroup("/v1/styles").WithTags("Styles").RequireAuthorization();

        styles.MapGet("/", ListStyles)
            .WithName("ListStyles")
            .WithSummary("The portrait styles")
            .WithDescription("Every style a generation can produce, in catalog order: name, prompt, negative prompt and generation options.");

        styles.MapGet("/{id}", GetStyle)
            .WithName("GetStyle")
            .WithSummary("One portrait style")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return styles;
    }

    public static Ok<IReadOnlyList<Style>> ListStyles(StyleCatalog catalog) => TypedResults.Ok(catalog.All);

    public static Results<Ok<Style>, ProblemHttpResult> GetStyle(
        StyleCatalog catalog, [Description("The style's kebab-case id, e.g. professional-headshot")] string id) =>
        catalog.Find(id) is { } style
            ? TypedResults.Ok(style)
            : TypedResults.Problem(
                title: "Unknown style",
                detail: $"There is no style '{id}'. GET /v1/styles lists them.",
                statusCode: StatusCodes.Status404NotFound);
}
