using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PinGlass.ReplicateEmulator.Webhooks;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Webhook delivery, the events filter, Replicate's signature, terminal retries and redirects.</summary>
public sealed class WebhookTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>, IAsyncLifetime
{
    private readonly Emulator emulator = fixture.Emulator;
    private WebhookReceiver receiver = null!;

    public async ValueTask InitializeAsync() => receiver = await WebhookReceiver.StartAsync();

    public ValueTask DisposeAsync() => receiver.DisposeAsync();

    [Fact]
    public void The_signer_reproduces_the_reference_test_vector()
    {
        var signer = new WebhookSigner(Microsoft.Extensions.Options.Options.Create(new EmulatorOptions { WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }));

        var signature = signer.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", DateTimeOffset.FromUnixTimeSeconds(1614265330), """{"test": 2432232314}""");

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public async Task The_secret_is_served_with_a_single_underscore()
    {
        var (_, body) = await emulator.GetAsync("/v1/webhooks/default/secret");

        Contract.OpenApiContract.AssertValid(body, "/webhooks/default/secret", "get", "200");
        var key = body.GetProperty("key").GetString()!;
        Assert.StartsWith("whsec_", key);
        Assert.Equal(2, key.Split('_').Length);
    }

    [Fact]
    public async Task Filtered_events_arrive_in_order_signed_verifiably_with_the_prediction_body()
    {
        var url = receiver.Url("/filtered");
        var created = await emulator.CreateFluxPulidAsync(extra: new { webhook = url, webhook_events_filter = new[] { "start", "completed" } });
        var id = created.GetProperty("id").GetString()!;

        var hooks = await receiver.WaitForAsync("/filtered", 2);
        await Task.Delay(200, TestContext.Current.CancellationToken);

        Assert.Equal(["processing", "succeeded"], receiver.For("/filtered").Select(h => h.Status));
        var (_, secret) = await emulator.GetAsync("/v1/webhooks/default/secret");
        foreach (var hook in hooks)
        {
            Assert.Equal(id, hook.Json.GetProperty("id").GetString());
            Contract.OpenApiContract.AssertValid(hook.Json, "/predictions/{prediction_id}", "get", "200");
            Assert.True(Verify(secret.GetProperty("key").GetString()!, hook), $"signature {hook.Signature} does not verify");
        }

        Assert.Equal(url, hooks[1].Json.GetProperty("webhook").GetString());
    }

    [Fact]
    public async Task Without_a_filter_output_and_completed_are_sent()
    {
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/default") });

        var hooks = await receiver.WaitForAsync("/default", 2);

        Assert.Equal("processing", hooks[0].Status);
        Assert.Equal(1, hooks[0].Json.GetProperty("output").GetArrayLength());
        Assert.Equal("succeeded", hooks[1].Status);
    }

    [Fact]
    public async Task The_terminal_webhook_is_retried_with_the_same_id_after_a_4xx_or_a_5xx_until_it_is_accepted()
    {
        // Replicate resends after any 4xx as after a 5xx: a receiver's 409 for a duplicate only earns more resends.
        receiver.Respond = (path, attempt) => path != "/flaky" ? Results.Ok() : attempt switch
        {
            1 => Results.StatusCode(409),
            2 => Results.StatusCode(500),
            _ => Results.Ok(),
        };
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/flaky"), webhook_events_filter = new[] { "completed" } });

        var hooks = await receiver.WaitForAsync("/flaky", 3);

        Assert.Single(hooks.Select(h => h.Id).Distinct());
        Assert.All(hooks, h => Assert.Equal("succeeded", h.Status));
    }

    [Fact]
    public async Task Redirects_are_not_followed()
    {
        receiver.Respond = (path, _) => path == "/moved" ? Results.Redirect(receiver.Url("/target"), permanent: true) : Results.Ok();
        var created = await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/moved"), webhook_events_filter = new[] { "completed" } });
        await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);

        await receiver.WaitForAsync("/moved", 1);
        await Task.Delay(300, TestContext.Current.CancellationToken);

        Assert.Single(receiver.For("/moved"));
        Assert.Empty(receiver.For("/target"));
    }

    [Fact]
    public async Task An_invalid_webhook_url_or_event_is_422()
    {
        var (badUrl, _) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl }, webhook = "not a url" });
        var (badEvent, body) = await emulator.PostAsync("/v1/predictions",
            new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl }, webhook = receiver.Url("/x"), webhook_events_filter = new[] { "finished" } });

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, badUrl.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, badEvent.StatusCode);
        Assert.Equal("webhook_events_filter.0", body.GetProperty("invalid_fields")[0].GetProperty("field").GetString());
    }

    /// <summary>Replicate's documented verification, written out independently of the emulator's signer.</summary>
    public static bool Verify(string secret, ReceivedWebhook hook)
    {
        var key = Convert.FromBase64String(secret.Split('_')[1]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{hook.Id}.{hook.Timestamp}.{hook.Body}")));
        return hook.Signature.Split(' ').Any(s => s.Split(',')[1] == expected);
    }
}
