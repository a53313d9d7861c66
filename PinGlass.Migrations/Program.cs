using PinGlass.Platform.Storage;
using PinGlass.Migrations;

// One-shot step the AppHost runs before the Api and Jobs start: brings the database, Hangfire's schema and the blob containers up
// to date, then exits. Every step is idempotent, so a restart is a no-op.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSingleton<Migrator>();

using var host = builder.Build();
await host.StartAsync();
try
{
    await host.Services.GetRequiredService<Migrator>().MigrateAsync(builder.Configuration, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
}
finally
{
    await host.StopAsync();
}
