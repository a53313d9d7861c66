using PinGlass.Domain.Jobs;
using PinGlass.Domain.Storage;
using PinGlass.Jobs.Dashboard;
using PinGlass.Jobs.Workers;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPinGlassStores();
builder.AddPinGlassHangfire();
builder.AddHangfireWorkers();
builder.AddOperatorDashboardAccess();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapOperatorDashboard();

app.Run();
