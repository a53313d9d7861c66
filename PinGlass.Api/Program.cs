using PinGlass.Api.Apis;
using PinGlass.Api.Clients;
using PinGlass.Api.Extensions;
using PinGlass.Api.Studio;
using PinGlass.Generations.Clients;
using PinGlass.Platform;
using Scalar.AspNetCore;

// `keys …` manages client applications' API keys and exits; anything else runs the Api.
if (KeysCommand.Parse(args) is { } keys)
{
    var tool = WebApplication.CreateBuilder();
    tool.AddNpgsqlDataSource(ResourceNames.Database);
    tool.Services.AddSingleton(TimeProvider.System).AddSingleton<ClientStore>();
    await using var services = tool.Build();
    return await keys.RunAsync(services.Services.GetRequiredService<ClientStore>(), Console.Out, CancellationToken.None);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter(); // after authentication: the limit is per client

app.MapDefaultEndpoints(http => http.User.IsInRole(ApiKeyAuthenticationHandler.OperatorRole));
app.MapStylesApi();
app.MapGenerationsApi();
app.MapWebhooksApi();
app.MapClientWebhooksApi();
app.MapFeedbackApi();
app.MapExperimentsApi();
app.MapCostsApi();
app.MapUsersApi();
app.MapKeysApi();
app.MapStudio();

if (app.Environment.IsDevelopment())
{
    app.MapOpenApi().AllowAnonymous();
    app.MapScalarApiReference().AllowAnonymous();
}

await app.RunAsync();
return 0;
