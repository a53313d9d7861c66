using PinGlass.Jobs.Dashboard;
using PinGlass.Jobs.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapOperatorDashboard();

app.Run();
