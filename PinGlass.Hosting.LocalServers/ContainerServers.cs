namespace PinGlass.Hosting.LocalServers;

/// <summary>The blob store as Azurite's container image, for machines with a container runtime.</summary>
public sealed class AzuriteContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    public const string EndpointName = "blob";

    public EndpointReference Endpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => AzuriteConnectionString.For(Endpoint);
}

public static class ContainerServers
{
    public static IResourceBuilder<AzuriteContainerResource> AddAzuriteContainer(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new AzuriteContainerResource(name))
            .WithImage("azure-storage/azurite", "3.35.0")
            .WithImageRegistry("mcr.microsoft.com")
            .WithArgs("azurite-blob", "--blobHost", "0.0.0.0", "--location", "/data", "--skipApiVersionCheck")
            .WithEndpoint(targetPort: 10000, name: AzuriteContainerResource.EndpointName, scheme: "http")
            .WithVolume($"pinglass-{name}-data", "/data")
            .WithServerHealthCheck(ServerHealthChecks.Blobs);
}
