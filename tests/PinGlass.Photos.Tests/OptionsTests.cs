using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PinGlass.Photos.Faces;

namespace PinGlass.Photos.Tests;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("Photos:Intake:MaxFiles", "0")]
    [InlineData("Photos:Intake:MinFiles", "21")]
    [InlineData("Photos:Faces:AnalysisMaxSide", "4096")]
    [InlineData("Photos:Faces:Timeout", "00:00:00")]
    [InlineData("Photos:Selection:Keep", "0")]
    [InlineData("Photos:Identity:Threshold", "3")]
    [InlineData("Photos:AnalysisQueue:UploadsAtOnce", "0")]
    [InlineData("Photos:AnalysisQueue:UploadsWaiting", "-1")]
    [InlineData("Photos:AnalysisQueue:MaxWait", "00:00:00")]
    public async Task Invalid_settings_stop_the_host_at_start_up(string key, string value)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.AddPhotos();
        using var host = builder.Build();

        // Several validators may read the same options (the faces client's resilience handler reads Photos:Faces), so the
        // failures can come aggregated; every one must be an options validation failure naming the key.
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));
        var failures = error is AggregateException all ? all.InnerExceptions : [error];
        Assert.All(failures, failure =>
        {
            Assert.IsType<OptionsValidationException>(failure);
            Assert.Contains(key.Split(':')[^1], failure.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task The_defaults_are_valid_and_point_at_the_faces_resource()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.AddPhotos();
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        Assert.Equal(new Uri("http://faces"), host.Services.GetRequiredService<IOptions<FacesOptions>>().Value.BaseAddress);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(9, false)]
    [InlineData(10, true)]
    [InlineData(20, true)]
    [InlineData(21, false)]
    public void An_upload_holds_ten_to_twenty_files_by_default(int sent, bool usable)
    {
        var problem = new Intake.IntakeOptions().CountProblem(sent);

        Assert.Equal(usable, problem is null);
        if (!usable)
        {
            Assert.Equal($"Send 10–20 photos of yourself as files; {sent} {(sent == 1 ? "was" : "were")} sent.", problem);
        }
    }
}
