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
