using Microsoft.Extensions.Hosting;
using PinGlass.AppHost;
using PinGlass.Hosting.LocalServers;
using PinGlass.Platform;

var builder = DistributedApplication.CreateBuilder(args);

// PostgreSQL, Redis and the blob store: containers where a container runtime answers, local processes otherwise.
var stores = Stores.Add(builder, InfrastructureSettings.From(builder));

// Replicate: the real API when REPLICATE_API_TOKEN is set, the offline emulator otherwise.
var replicate = ReplicateEndpoint.Add(builder);

// Face analysis: a Node service around @vladmandic/human, whose models come from its npm package (nothing is downloaded); deployed
// as the image its Dockerfile builds.
var faces = builder.AddExecutable(ResourceNames.Faces, "node", Path.Combine(builder.AppHostDirectory, "..", "PinGlass.Faces"), "server.mjs")
    .WithHttpEndpoint(env: "PORT")
    .WithHttpHealthCheck("/health")
    .PublishAsDockerFile();

// The migrations step makes the database's roles as the server's superuser, then runs the scripts as the owner; the services
// connect as a role that reads and writes rows and changes no schema.
var migrations = builder.AddProject<Projects.PinGlass_Migrations>(ResourceNames.Migrations)
    .WithReference(stores.Server).WithReference(stores.DatabaseOwner).WithReference(stores.Database).WaitFor(stores.Server)
    .WithReference(stores.Blobs).WaitFor(stores.Blobs);

var api = PinGlassService(builder.AddProject<Projects.PinGlass_Api>(ResourceNames.Api))
    .WithOperatorUrl("/scalar", "API reference");

// In Development a demo client application's API key (generated once, kept in the AppHost's user secrets) is given to the Api and
// printed with the URLs, so calls work at once; against the emulator the dashboard's "Start a demo generation" uses it on the sample
// photos (never against the real Replicate: it would spend money). Production clients' keys come from the Api's `keys` command.
if (builder.Environment.IsDevelopment() && builder.ExecutionContext.IsRunMode)
{
    var demoKey = builder.AddParameter("demo-api-key", new GenerateParameterDefault { MinLength = 40, Special = false }, secret: true, persist: true);
    api.WithDemoKey(demoKey);
    if (replicate.IsEmulated)
    {
        api.WithDemoGeneration(demoKey, Path.Combine(builder.AppHostDirectory, "..", "samples", "photos"));
    }
}

// Two replicas: Hangfire work must spread over several servers.
var jobs = PinGlassService(builder.AddProject<Projects.PinGlass_Jobs>(ResourceNames.Jobs))
    .WithReplicas(2)
    .WithOperatorUrl("/hangfire", "Hangfire dashboard");

// The emulator can reach the Api, so predictions report back by webhook; the real Replicate cannot, so the Jobs poll.
replicate.SendWebhooks(jobs, api);

builder.Build().Run();

// The Api and Jobs need the same things: every store, Replicate, face analysis, and a database the migrations step has brought
// up to date.
IResourceBuilder<ProjectResource> PinGlassService(IResourceBuilder<ProjectResource> service) => service
    .WithReference(stores.Database).WithReference(stores.Cache).WaitFor(stores.Cache).WithReference(stores.Blobs)
    .WithReplicate(replicate)
    .WithReference(faces.GetEndpoint("http"))
    .WaitForCompletion(migrations)
    .WithHttpHealthCheck("/health");
