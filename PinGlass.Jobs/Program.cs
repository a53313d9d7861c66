using PinGlass.Jobs.Dashboard;
using PinGlass.Jobs.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints(app.Services.GetRequiredService<OperatorAuthorizationFilter>().IsOperator);
app.MapOperatorDashboard();

app.Run();
