using PinGlass.Domain.Jobs;
using PinGlass.Domain.Storage;
using PinGlass.Jobs.Dashboard;
using PinGlass.Jobs.Maintenance;
using PinGlass.Jobs.Workers;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPinGlassStores();
builder.AddPinGlassHangfire();
builder.AddReplicate();
builder.AddPhotos();
builder.AddGenerationWorkers();
builder.AddHangfireWorkers();
builder.AddRecurringJobSettings();
builder.AddOperatorDashboardAccess();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapOperatorDashboard();
app.MapRecurringJobs();

app.Run();
