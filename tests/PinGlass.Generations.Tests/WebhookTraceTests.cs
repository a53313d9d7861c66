using System.Diagnostics;
using PinGlass.ServiceDefaults;
using PinGlass.Generations.Webhooks;

namespace PinGlass.Generations.Tests;

/// <summary>The webhook URL carries the creating span to Replicate and back; anything else in its query starts a trace of its own.</summary>
public sealed class WebhookTraceTests : IDisposable
{
    private readonly ActivityListener listener = new()
    {
        ShouldListenTo = source => source.Name == PinGlassTelemetry.Name,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public WebhookTraceTests() => ActivitySource.AddActivityListener(listener);

    [Fact]
    public void A_webhook_continues_the_span_that_created_its_prediction()
    {
        Uri carried;
        ActivityContext creator;
        using (var creating = PinGlassTelemetry.ActivitySource.StartActivity("create"))
        {
            creator = creating!.Context;
            carried = WebhookTrace.Carry(new Uri("https://api.example/v1/webhooks/replicate?pinglass_attempt=g-1-0"))!;
        }

        Assert.Contains("pinglass_attempt=g-1-0", carried.Query);
        // Replicate posts to the URL as given: its query is what the Api reads.
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(carried.Query);
        using var received = WebhookTrace.StartReceived("p1", "succeeded", query[WebhookTrace.Parameter]);

        Assert.Equal(creator.TraceId, received!.TraceId);
        Assert.Equal(creator.SpanId, received.ParentSpanId);
        Assert.Equal("p1", received.GetTagItem("replicate.prediction.id"));
    }

    [Theory]
    [InlineData("not-a-trace")]
    [InlineData("00-zz-zz-01")]
    [InlineData("")]
    [InlineData(null)]
    public void A_webhook_without_a_valid_traceparent_starts_a_trace_of_its_own(string? traceparent)
    {
        using var received = WebhookTrace.StartReceived("p1", "failed", traceparent);

        Assert.Equal(default, received!.ParentSpanId);
    }

    [Fact]
    public void Without_a_span_or_a_webhook_url_nothing_is_added()
    {
        var url = new Uri("https://api.example/v1/webhooks/replicate");

        Assert.Equal(url, WebhookTrace.Carry(url));
        Assert.Null(WebhookTrace.Carry(null));
    }

    public void Dispose() => listener.Dispose();
}
