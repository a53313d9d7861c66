using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PinGlass.Platform;
using StandardWebhooks;

namespace PinGlass.AppHost.Tests;

/// <summary>The Api's Replicate webhook receiver: only signed, fresh, first-time deliveries are acted on.</summary>
public sealed class ReplicateWebhookTests(PinGlassApp fixture)
{
    private const string Body = """{"id":"webhook-test-prediction","status":"succeeded","output":["https://replicate.delivery/x.png"]}""";

    [Fact]
    public async Task A_signed_delivery_delivered_twice_is_acknowledged_twice_and_acted_on_once()
    {
        using var api = fixture.App.CreateHttpClient(ResourceNames.Api);
        var id = $"msg_{Guid.NewGuid():N}";
        var prediction = $"webhook-twice-{Guid.NewGuid():N}";
        var body = Body.Replace("webhook-test-prediction", prediction, StringComparison.Ordinal);
        var signer = new StandardWebhook(await SecretAsync());

        using var first = await PostAsync(api, body, id, DateTimeOffset.UtcNow, signer);
        using var again = await PostAsync(api, body, id, DateTimeOffset.UtcNow, signer);

        // Replicate sends a webhook twice, and resends after any 4xx: the second is a 2xx, so it is not resent for a minute.
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        // Acted on once: one completion job for the prediction.
        await using var stores = await Stores.ConnectAsync(fixture.App);
        Assert.Equal(1L, (await stores.QueryAsync(
            $"SELECT count(*) FROM hangfire.job WHERE invocationdata->>'Method' = 'CompleteAsync' AND arguments::text LIKE '%{prediction}%'",
            r => r.GetInt64(0))).Single());
    }

    [Fact]
    public async Task Unsigned_wrongly_signed_stale_and_future_deliveries_are_refused()
    {
        using var api = fixture.App.CreateHttpClient(ResourceNames.Api);
        var signer = new StandardWebhook(await SecretAsync());
        var stranger = new StandardWebhook("whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("not-the-account-secret-32-bytes!")));
        var ct = TestContext.Current.CancellationToken;

        using var unsigned = await api.PostAsync("/v1/webhooks/replicate", new StringContent(Body, Encoding.UTF8, "application/json"), ct);
        using var wrong = await PostAsync(api, Body, $"msg_{Guid.NewGuid():N}", DateTimeOffset.UtcNow, stranger);
        using var stale = await PostAsync(api, Body, $"msg_{Guid.NewGuid():N}", DateTimeOffset.UtcNow.AddMinutes(-10), signer);
        using var future = await PostAsync(api, Body, $"msg_{Guid.NewGuid():N}", DateTimeOffset.UtcNow.AddMinutes(10), signer);
        using var tampered = await PostAsync(api, Body, $"msg_{Guid.NewGuid():N}", DateTimeOffset.UtcNow, signer, bodySent: Body.Replace("succeeded", "failed"));

        Assert.All(new[] { unsigned, wrong, stale, future, tampered }, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_problem_not_a_500()
    {
        using var api = fixture.App.CreateHttpClient(ResourceNames.Api);
        // The body waits for the server's go-ahead (Expect: 100-continue): refused on its announced length, it is never sent, so the
        // answer is read rather than the connection being reset under a body still on its way.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/replicate")
        {
            Content = new StringContent(new string(' ', 20_000_000), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;

        using var response = await api.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_signed_body_that_is_not_a_prediction_is_a_bad_request()
    {
        using var api = fixture.App.CreateHttpClient(ResourceNames.Api);
        using var response = await PostAsync(api, """{"hello":"world"}""", $"msg_{Guid.NewGuid():N}", DateTimeOffset.UtcNow,
            new StandardWebhook(await SecretAsync()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<string> SecretAsync()
    {
        using var client = GenerationClient.For(fixture.App);
        return await client.WebhookSecretAsync();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient api, string body, string id, DateTimeOffset timestamp, StandardWebhook signer,
        string? bodySent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/replicate")
        {
            Content = new StringContent(bodySent ?? body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signer.Sign(id, timestamp, body));
        return await api.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
