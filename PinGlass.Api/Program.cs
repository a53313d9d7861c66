using PinGlass.Api.Apis;
using PinGlass.Domain.Jobs;
using PinGlass.Domain.Storage;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPinGlassStores();
// The Api only enqueues work; PinGlass.Jobs runs it.
builder.AddPinGlassHangfire();
builder.AddReplicate();
builder.AddPhotos();
// The style catalog is loaded and checked here at start-up: a broken catalog stops the Api rather than failing generations later.
builder.AddGenerations();

builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapDefaultEndpoints();
app.MapStylesApi();
app.MapGenerationsApi();
app.MapWebhooksApi();
app.MapCostsApi();

if (app.Environment.IsDevelopment())
{
    app.MapOpenApi();
    app.MapScalarApiReference();
}

app.Run();
