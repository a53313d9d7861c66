using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Planning;

namespace PinGlass.Generations.Tests;

/// <summary>The pipeline's settings as a service reads them at start-up: bound, the design's variable applied, bad values named.</summary>
public sealed class PipelineOptionsTests
{
    [Fact]
    public void The_defaults_are_the_fast_mode_and_the_designs_budget()
    {
        var options = Resolve([]);

        Assert.Equal((0, TimeSpan.Zero, 0.80m, 3), (options.BatchSize, options.BatchDelay, options.BudgetPerGeneration, options.MinUsablePhotos));
        Assert.Equal(0.022m, options.EstimatedUsdPerImage["flux-pulid"]);
    }

    [Fact]
    public void The_estimate_reproduces_the_designs_projection()
    {
        var options = Resolve([]);

        // 23 × $0.022 on flux-pulid; with the design's 10 % of portraits made again.
        Assert.Equal(new(0.506m, 0.5566m), options.Estimate(23, "flux-pulid"));
        Assert.Equal(new(0.92m, 1.012m), options.Estimate(23, "flux-kontext-pro"));
        Assert.Equal(new(0.506m, 0.6072m), Resolve([new("Pipeline:ExpectedRetryRate", "0.2")]).Estimate(23, "flux-pulid"));
    }

    [Fact]
    public void The_designs_budget_variable_wins_over_the_section()
    {
        var options = Resolve([new("REPLICATE_BUDGET_PER_GENERATION", "1.25"), new("Pipeline:BudgetPerGeneration", "0.50")]);

        Assert.Equal(1.25m, options.BudgetPerGeneration);
    }

    [Theory]
    [InlineData("REPLICATE_BUDGET_PER_GENERATION", "a lot", "REPLICATE_BUDGET_PER_GENERATION must be an amount in USD")]
    [InlineData("REPLICATE_BUDGET_PER_GENERATION", "9", "must not exceed Pipeline:MaxBudgetPerGeneration")]
    [InlineData("Pipeline:BatchSize", "101", "BatchSize")]
    [InlineData("Pipeline:Deadline", "00:00:01", "Deadline")]
    [InlineData("Pipeline:CreateRateLimit:PerMinute", "0", "Pipeline:CreateRateLimit")]
    [InlineData("Pipeline:OutputHosts:0", " ", "Pipeline:OutputHosts")]
    [InlineData("Pipeline:ExpectedRetryRate", "1.5", "ExpectedRetryRate")]
    public void A_bad_value_stops_start_up_naming_it(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve([new(key, value)]));

        Assert.Contains(named, error.Message);
    }

    [Theory]
    [InlineData("https://replicate.delivery/x.png", true)]
    [InlineData("https://a.b.replicate.delivery/x.png", true)]
    [InlineData("http://replicate.delivery/x.png", true)]
    [InlineData("https://replicate.delivery.example/x.png", false)]
    [InlineData("ftp://replicate.delivery/x.png", false)]
    public void Output_hosts_match_exactly_or_as_subdomains(string url, bool allowed) =>
        Assert.Equal(allowed, new PipelineOptions().AllowsOutputHost(new Uri(url)));

    private static PipelineOptions Resolve(KeyValuePair<string, string?>[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddGenerations();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<IOptions<PipelineOptions>>().Value;
    }
}
