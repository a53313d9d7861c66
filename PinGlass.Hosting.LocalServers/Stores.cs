using PinGlass.Platform;

namespace PinGlass.Hosting.LocalServers;

/// <summary>The stores the services reference; the same names and connection strings whichever way they run.</summary>
public sealed record Stores(
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Cache,
    IResourceBuilder<IResourceWithConnectionString> Blobs)
{
    public static Stores Add(IDistributedApplicationBuilder builder, InfrastructureSettings settings)
    {
        if (settings.Mode == InfrastructureMode.Containers)
        {
            // The same major versions as the local processes (Debian 12: PostgreSQL 15, Redis 7.0), so SQL and commands that
            // pass here pass there.
            var postgres = builder.AddPostgres(ResourceNames.Postgres).WithImageTag("15").WithDataVolume();
            return new Stores(
                postgres.AddDatabase(ResourceNames.Database),
                builder.AddRedis(ResourceNames.Cache).WithImageTag("7.0").WithDataVolume(),
                builder.AddAzuriteContainer(ResourceNames.Blobs));
        }

        if (OperatingSystem.IsWindows())
        {
            throw new DistributedApplicationException("Local-process infrastructure runs on Linux; use Infrastructure:Mode=Containers.");
        }

        DataRoot.Claim(builder, settings.DataRoot);
        var server = builder.AddLocalPostgres(ResourceNames.Postgres, settings);
        var database = builder.AddConnectionString(ResourceNames.Database, ReferenceExpression.Create($"{server.Resource};Database={ResourceNames.Database}"))
            .WithParentRelationship(server);
        return new Stores(
            database,
            builder.AddLocalRedis(ResourceNames.Cache, settings),
            builder.AddLocalAzurite(ResourceNames.Blobs, settings));
    }
}
