using System.Runtime.Versioning;
using PinGlass.Platform;

namespace PinGlass.Hosting.LocalServers;

/// <summary>The stores the services reference; the same names and connection strings whichever way they run.</summary>
/// <param name="Server">PostgreSQL as its superuser: for the migrations step alone, which makes the two roles and the database.</param>
/// <param name="DatabaseOwner">PinGlass's database as <see cref="OwnerRole"/>, which owns its schemas: the migrations run as it.</param>
/// <param name="Database">PinGlass's database as <see cref="ServiceRole"/>: what the services use; it reads and writes rows and changes no schema.</param>
public sealed record Stores(
    IResourceBuilder<IResourceWithConnectionString> Server,
    IResourceBuilder<IResourceWithConnectionString> DatabaseOwner,
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Cache,
    IResourceBuilder<IResourceWithConnectionString> Blobs)
{
    public const string OwnerRole = "pinglass_owner";

    public const string ServiceRole = "pinglass_app";

    public static Stores Add(IDistributedApplicationBuilder builder, InfrastructureSettings settings)
    {
        if (settings.Mode == InfrastructureMode.Containers)
        {
            // The same major versions as the local processes (Debian 12: PostgreSQL 15, Redis 7.0), so SQL and commands that
            // pass here pass there.
            var postgres = builder.AddPostgres(ResourceNames.Postgres).WithImageTag("15").WithDataVolume();
            IResourceBuilder<ParameterResource> Generated(string name) =>
                builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
            // Azurite is a development emulator with a published key: a deployment is given its blob storage's connection string.
            IResourceBuilder<IResourceWithConnectionString> blobs = builder.ExecutionContext.IsPublishMode
                ? builder.AddConnectionString(ResourceNames.Blobs)
                : builder.AddAzuriteContainer(ResourceNames.Blobs);
            return WithRoles(builder, postgres, postgres.Resource.PrimaryEndpoint, Generated, builder.AddRedis(ResourceNames.Cache).WithImageTag("7.0").WithDataVolume(),
                blobs);
        }

        if (OperatingSystem.IsWindows())
        {
            throw new DistributedApplicationException("Local-process infrastructure runs on Linux; use Infrastructure:Mode=Containers.");
        }

        return AddLocal(builder, settings);
    }

    [UnsupportedOSPlatform("windows")]
    private static Stores AddLocal(IDistributedApplicationBuilder builder, InfrastructureSettings settings)
    {
        DataRoot.Claim(builder, settings.DataRoot);
        var server = builder.AddLocalPostgres(ResourceNames.Postgres, settings);
        return WithRoles(builder, server, server.Resource.Endpoint, name => builder.AddSecret(name, settings),
            builder.AddLocalRedis(ResourceNames.Cache, settings), builder.AddLocalAzurite(ResourceNames.Blobs, settings));
    }

    /// <summary>The database's two connection strings on <paramref name="server"/>, each role with a generated password of its own.</summary>
    private static Stores WithRoles(IDistributedApplicationBuilder builder, IResourceBuilder<IResourceWithConnectionString> server,
        EndpointReference endpoint, Func<string, IResourceBuilder<ParameterResource>> password, IResourceBuilder<IResourceWithConnectionString> cache,
        IResourceBuilder<IResourceWithConnectionString> blobs)
    {
        IResourceBuilder<IResourceWithConnectionString> As(string name, string role)
        {
            var secret = password($"{name}-password").Resource;
            return builder.AddConnectionString(name, ReferenceExpression.Create(
                    $"Host={endpoint.Property(EndpointProperty.Host)};Port={endpoint.Property(EndpointProperty.Port)};Username={role};Password={secret};Database={ResourceNames.Database}"))
                .WithParentRelationship(server);
        }

        return new Stores(server, As(ResourceNames.DatabaseOwner, OwnerRole), As(ResourceNames.Database, ServiceRole), cache, blobs);
    }
}
