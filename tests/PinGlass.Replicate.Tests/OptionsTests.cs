using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Tests;

public sealed class OptionsTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["Replicate:ApiToken"] = TestHost.Token };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<string> StartUpFailureAsync(Dictionary<string, string?> settings)
    {
        using var host = TestHost.Build(settings);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        return error.Message;
    }

    [Fact]
    public void The_defaults_are_the_designs()
    {
        using var host = TestHost.Build(Settings());
        var options = host.Services.GetRequiredService<IOptions<ReplicateOptions>>().Value;

        Assert.Equal((3, "flux-pulid", true, false), (options.MaxRetries, options.PrimaryModel, options.EnableFallback, options.EnableMultiReference));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)), (options.RetryDelay, options.MaxRetryDelay));
        Assert.Equal(new Uri("https+http://replicate"), options.BaseUrl);
    }

    [Fact]
    public void Cancel_after_leaves_a_community_model_its_cold_boot_on_top_of_the_run_timeout()
    {
        using var host = TestHost.Build(Settings(("Replicate:GenerationTimeout", "00:02:00")));
        var options = host.Services.GetRequiredService<IOptions<ReplicateOptions>>().Value;

        // Replicate: a cold boot "can take several minutes", and Cancel-After counts from creation. kontext-pro is official: always on.
        Assert.Equal(TimeSpan.FromMinutes(7), options.CancelAfterFor("flux-pulid"));
        Assert.Equal(TimeSpan.FromMinutes(7), options.CancelAfterFor("instant-id"));
        Assert.Equal(TimeSpan.FromMinutes(2), options.CancelAfterFor("flux-kontext-pro"));
        // Against a 20× emulator the run timeout (wall time) is scaled, the boot (Replicate time) is not.
        options.ClockScale = 20;
        Assert.Equal(TimeSpan.FromMinutes(45), options.CancelAfterFor("flux-pulid"));
        // One set explicitly is sent as it is, for every model.
        options.CancelAfter = TimeSpan.FromMinutes(1);
        Assert.Equal(TimeSpan.FromMinutes(20), options.CancelAfterFor("flux-pulid"));
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("00:20:01")]
    public async Task A_cold_boot_allowance_out_of_range_stops_start_up(string coldBoot) =>
        Assert.Contains("Replicate:Models:flux-pulid:ColdBoot",
            await StartUpFailureAsync(Settings(("Replicate:Models:flux-pulid:ColdBoot", coldBoot))), StringComparison.Ordinal);

    [Fact]
    public void The_environment_variables_win_over_the_section()
    {
        using var host = TestHost.Build(Settings(("Replicate:MaxRetries", "1"), ("REPLICATE_MAX_RETRIES", "5"),
            ("REPLICATE_PRIMARY_MODEL", "instant-id"), ("REPLICATE_ENABLE_FALLBACK", "false")));
        var options = host.Services.GetRequiredService<IOptions<ReplicateOptions>>().Value;

        Assert.Equal((5, "instant-id", false), (options.MaxRetries, options.PrimaryModel, options.EnableFallback));
    }

    [Theory]
    [InlineData("REPLICATE_MAX_RETRIES", "three")]
    [InlineData("REPLICATE_MAX_RETRIES", "-1")]
    [InlineData("REPLICATE_MAX_RETRIES", "11")]
    [InlineData("REPLICATE_PRIMARY_MODEL", "dall-e")]
    [InlineData("REPLICATE_PRIMARY_MODEL", "flux-multi-pulid")]
    [InlineData("REPLICATE_ENABLE_FALLBACK", "yes")]
    public async Task A_bad_variable_stops_start_up_naming_it(string variable, string value) =>
        Assert.Contains(variable, await StartUpFailureAsync(Settings((variable, value))), StringComparison.Ordinal);

    [Fact]
    public async Task A_missing_token_stops_start_up() =>
        Assert.Contains("Replicate:ApiToken", await StartUpFailureAsync([]), StringComparison.Ordinal);

    [Fact]
    public async Task A_malformed_model_stops_start_up() =>
        Assert.Contains("Replicate:Models:instant-id:Model",
            await StartUpFailureAsync(Settings(("Replicate:Models:instant-id:Model", "no-slash"))), StringComparison.Ordinal);

    [Fact]
    public async Task Validation_messages_never_contain_the_token()
    {
        var message = await StartUpFailureAsync(Settings(("REPLICATE_MAX_RETRIES", "x"), ("Replicate:CircuitBreaker:FailureRatio", "5")));

        Assert.Contains("Replicate:CircuitBreaker", message, StringComparison.Ordinal);
        Assert.DoesNotContain(TestHost.Token, message, StringComparison.Ordinal);
    }
}
