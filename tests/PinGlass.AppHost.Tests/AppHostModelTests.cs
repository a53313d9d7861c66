using Aspire.Hosting.Postgres;
using PinGlass.Hosting.LocalServers;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>The AppHost's resource graph, built but not started, in each infrastructure mode.</summary>
public sealed class AppHostModelTests
{
    [Fact]
    public async Task Without_containers_the_stores_are_local_processes_under_the_same_names()
    {
        var dataRoot = PinGlassApp.NewDataRoot();
        var resources = await ResourcesAsync("Processes", dataRoot);

        // Building the model must not touch the disk: secrets and clusters are made when the servers start.
        Assert.False(Directory.Exists(dataRoot));

        Assert.IsType<LocalServerResource>(resources[ResourceNames.Postgres]);
        Assert.IsType<ConnectionStringResource>(resources[ResourceNames.Database]);
        Assert.IsType<ConnectionStringResource>(resources[ResourceNames.DatabaseOwner]);
        Assert.IsType<LocalServerResource>(resources[ResourceNames.Cache]);
        Assert.IsType<LocalServerResource>(resources[ResourceNames.Blobs]);
        Assert.DoesNotContain(resources.Values, r => r is ContainerResource);
    }

    [Fact]
    public async Task With_containers_the_stores_are_aspire_container_resources_under_the_same_names()
    {
        var resources = await ResourcesAsync("Containers");

        Assert.IsType<PostgresServerResource>(resources[ResourceNames.Postgres]);
        Assert.IsType<ConnectionStringResource>(resources[ResourceNames.Database]);
        Assert.IsType<ConnectionStringResource>(resources[ResourceNames.DatabaseOwner]);
        Assert.IsType<RedisResource>(resources[ResourceNames.Cache]);
        Assert.IsType<AzuriteContainerResource>(resources[ResourceNames.Blobs]);
    }

    [Theory]
    [InlineData("Processes")]
    [InlineData("Containers")]
    public async Task Services_reference_every_store_and_start_only_after_the_migrations(string mode)
    {
        var resources = await ResourcesAsync(mode);

        foreach (var service in new[] { ResourceNames.Api, ResourceNames.Jobs })
        {
            var project = resources[service];
            var waits = project.Annotations.OfType<WaitAnnotation>().ToList();
            Assert.Contains(waits, w => w.Resource.Name == ResourceNames.Migrations && w.WaitType == WaitType.WaitForCompletion);
            Assert.Contains(waits, w => w.Resource.Name == ResourceNames.Cache);
            Assert.Contains(waits, w => w.Resource.Name == ResourceNames.Replicate);

            var references = project.Annotations.OfType<ResourceRelationshipAnnotation>()
                .Where(r => r.Type == "Reference").Select(r => r.Resource.Name).ToHashSet();
            Assert.Superset(
                new HashSet<string> { ResourceNames.Database, ResourceNames.Cache, ResourceNames.Blobs, ResourceNames.Replicate, ResourceNames.Faces },
                references);
            // The services get the database as their own role only: never the owner's or the superuser's connection string.
            Assert.DoesNotContain(ResourceNames.DatabaseOwner, references);
            Assert.DoesNotContain(ResourceNames.Postgres, references);
        }

        var migrations = resources[ResourceNames.Migrations];
        Assert.Contains(ResourceNames.Postgres, migrations.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name));
        Assert.Contains(ResourceNames.Blobs, migrations.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name));
        Assert.Superset(new HashSet<string> { ResourceNames.Postgres, ResourceNames.DatabaseOwner, ResourceNames.Database },
            migrations.Annotations.OfType<ResourceRelationshipAnnotation>().Where(r => r.Type == "Reference").Select(r => r.Resource.Name).ToHashSet());
    }

    [Fact]
    public async Task Face_analysis_is_the_node_service_with_a_health_check()
    {
        var faces = Assert.IsType<ExecutableResource>((await ResourcesAsync("Processes"))[ResourceNames.Faces]);

        Assert.Equal("node", faces.Command);
        Assert.EndsWith("PinGlass.Faces", faces.WorkingDirectory, StringComparison.Ordinal);
        Assert.Contains(faces.Annotations.OfType<EndpointAnnotation>(), e => e.Name == "http");
        Assert.NotEmpty(faces.Annotations.OfType<HealthCheckAnnotation>());
    }

    [Fact]
    public async Task Jobs_runs_two_replicas()
    {
        var resources = await ResourcesAsync("Processes");

        Assert.Equal(2, resources[ResourceNames.Jobs].Annotations.OfType<ReplicaAnnotation>().Single().Replicas);
    }

    [Fact]
    public async Task An_unknown_infrastructure_mode_stops_start_up_with_a_message_naming_the_setting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ResourcesAsync("Kubernetes"));

        Assert.Contains("Infrastructure:Mode", error.ToString());
    }

    private static async Task<Dictionary<string, IResource>> ResourcesAsync(string mode, string? dataRoot = null)
    {
        var builder = await PinGlassApp.CreateBuilderAsync(dataRoot ?? PinGlassApp.NewDataRoot(), mode);
        return builder.Resources.ToDictionary(r => r.Name);
    }
}
