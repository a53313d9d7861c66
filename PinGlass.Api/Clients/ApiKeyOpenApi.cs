using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using PinGlass.Generations.Clients;

namespace PinGlass.Api.Clients;

/// <summary>
/// The API key in the OpenAPI document: a bearer scheme, required by every operation that is not open to anyone, so the API reference
/// (Scalar) and generated clients send it.
/// </summary>
public static class ApiKeyOpenApi
{
    public const string Scheme = "apiKey";

    public static OpenApiOptions AddApiKeyScheme(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = $"A client application's API key (from the Api's `keys create`; in Development the AppHost prints a demo key). Calls about a user's data also name the user in `{EndUsers.Header}`.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, context.Document)] = [] });
            }

            return Task.CompletedTask;
        });
        return options;
    }
}
