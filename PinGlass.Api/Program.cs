using PinGlass.Api.Apis;
using PinGlass.Domain.Jobs;
using PinGlass.Domain.Storage;
using PinGlass.Domain.Styles;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPinGlassStores();
// The Api only enqueues work; PinGlass.Jobs runs it.
builder.AddPinGlassHangfire();

// Loaded and checked at start-up: a broken catalog stops the Api rather than failing generations later.
builder.Services.AddSingleton(StyleCatalog.Load());

builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();

app.MapDefaultEndpoints();
app.MapStylesApi();

if (app.Environment.IsDevelopment())
{
    app.MapOpenApi();
    app.MapScalarApiReference();
}

app.Run();
