using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Persistence;
using StandardWebhooks;

namespace PinGlass.Generations.Tests;

/// <summary>Client webhooks' decisions: where they may go, when a milestone is reached, when an attempt is tried again, how it is signed.</summary>
public sealed class ClientWebhookTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("192.0.2.10")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("2002:7f00:1::")]
    [InlineData("64:ff9b::a00:1")]
    [InlineData("2001:db8::1")]
    public void Internal_and_reserved_addresses_are_not_public(string address) => Assert.False(CallbackTargets.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("193.0.0.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are(string address) => Assert.True(CallbackTargets.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://hooks.example.com/pinglass", false, true)]
    [InlineData("https://8.8.8.8/hook", false, true)]
    [InlineData("http://hooks.example.com/pinglass", false, false)]
    [InlineData("http://127.0.0.1:5000/hook", true, true)]
    [InlineData("https://127.0.0.1/hook", false, false)]
    [InlineData("https://localhost/hook", false, false)]
    [InlineData("https://[::1]/hook", false, false)]
    [InlineData("https://169.254.169.254/latest/meta-data", false, false)]
    [InlineData("https://[::ffff:10.0.0.1]/hook", false, false)]
    [InlineData("https://user:pw@hooks.example.com/", false, false)]
    [InlineData("https://hooks.example.com/#x", false, false)]
    [InlineData("ftp://hooks.example.com/", true, false)]
    [InlineData("file:///etc/passwd", true, false)]
    [InlineData("hooks.example.com/hook", true, false)]
    public void A_callback_url_is_https_to_a_public_host_outside_development(string url, bool allowPrivate, bool usable) =>
        Assert.Equal(usable, CallbackTargets.Problem(url, allowPrivate) is null);

    [Fact]
    public void A_callback_url_past_the_length_limit_is_refused() =>
        Assert.NotNull(CallbackTargets.Problem("https://hooks.example.com/" + new string('a', CallbackTargets.MaxLength), allowPrivate: true));

    [Theory]
    [InlineData(GenerationStatus.Queued, 0, 4, new string[0])]
    [InlineData(GenerationStatus.Running, 0, 4, new[] { "started" })]
    [InlineData(GenerationStatus.Running, 1, 4, new[] { "started", "portraits-25" })]
    [InlineData(GenerationStatus.Running, 2, 3, new[] { "started", "portraits-25", "portraits-50" })]
    [InlineData(GenerationStatus.Running, 23, 23, new[] { "started", "portraits-25", "portraits-50", "portraits-75" })]
    [InlineData(GenerationStatus.Completed, 4, 4, new[] { "ended" })]
    [InlineData(GenerationStatus.Cancelled, 0, 4, new[] { "ended" })]
    public void Milestones_follow_the_generations_state(GenerationStatus status, int completed, int total, string[] expected) =>
        Assert.Equal(expected, WebhookMilestones.Reached(status, completed, total));

    [Fact]
    public void A_generation_run_again_ends_again_with_a_milestone_of_its_own()
    {
        Assert.Equal(["ended-2"], WebhookMilestones.Reached(GenerationStatus.CompletedWithFailures, 4, 4, runs: 2));
        Assert.Equal("generation.ended", WebhookMilestones.EventType("ended-2"));
        Assert.Equal("generation.progress", WebhookMilestones.EventType("portraits-50"));
    }

    [Fact]
    public void Attempts_follow_the_standard_schedule_then_the_delivery_is_dead()
    {
        var options = new ClientWebhookOptions();
        Assert.Equal(TimeSpan.FromSeconds(5), options.NextDelay(1));
        Assert.Equal(TimeSpan.FromHours(10), options.NextDelay(7));
        Assert.Null(options.NextDelay(8));

        var configured = new ClientWebhookOptions { RetryDelays = [TimeSpan.FromSeconds(1)] };
        Assert.Equal(TimeSpan.FromSeconds(1), configured.NextDelay(1));
        Assert.Null(configured.NextDelay(2));
    }

    [Fact]
    public async Task A_delivery_is_signed_so_the_clients_secret_verifies_it()
    {
        var secret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("a-client-secret-of-32-bytes-long"));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var handler = new Capture();
        var sender = new ClientWebhookSender(new HttpClient(handler), time);
        var delivery = new WebhookDelivery(Guid.NewGuid(), "https://hooks.example.com/pinglass", """{"type":"generation.ended"}""", secret, 1);

        var outcome = await sender.SendAsync(delivery, Token);

        Assert.True(outcome.Delivered);
        var request = handler.Request!;
        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary(request.Headers.ToDictionary(h => h.Key,
            h => new Microsoft.Extensions.Primitives.StringValues([.. h.Value])));
        new StandardWebhook(secret).Verify(handler.Body!, headers);
        Assert.Equal(delivery.MessageId, headers["webhook-id"]);
        var stranger = new StandardWebhook("whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes("another-clients-secret-32-bytes!")));
        Assert.ThrowsAny<Exception>(() => stranger.Verify(handler.Body!, headers));
    }

    [Fact]
    public async Task A_non_2xx_answer_or_no_answer_is_a_failed_attempt_with_its_reason()
    {
        var delivery = new WebhookDelivery(Guid.NewGuid(), "https://hooks.example.com/pinglass", "{}",
            "whsec_" + Convert.ToBase64String(new byte[32]), 1);
        var refused = await new ClientWebhookSender(new HttpClient(new Capture(HttpStatusCode.Gone)), TimeProvider.System).SendAsync(delivery, Token);
        Assert.Equal((false, 410), (refused.Delivered, refused.Status));
        var redirected = await new ClientWebhookSender(new HttpClient(new Capture(HttpStatusCode.Redirect)), TimeProvider.System).SendAsync(delivery, Token);
        Assert.False(redirected.Delivered);
        var silent = await new ClientWebhookSender(new HttpClient(new Capture(throws: true)), TimeProvider.System).SendAsync(delivery, Token);
        Assert.Equal((false, (int?)null), (silent.Delivered, silent.Status));
        Assert.NotNull(silent.Error);
    }

    [Fact]
    public async Task Outside_development_the_connection_to_a_name_that_resolves_to_loopback_is_refused_and_inside_it_is_made()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var target = new DnsEndPoint("localhost", port);

        var refused = await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await CallbackTargets.Connect(allowPrivate: false)(Context(target), Token));
        Assert.Contains("no public address", refused.Message);
        Assert.False(listener.Pending());

        await using var stream = await CallbackTargets.Connect(allowPrivate: true)(Context(target), Token);
        using var accepted = await listener.AcceptTcpClientAsync(Token);
        Assert.True(accepted.Connected);
    }

    private static SocketsHttpConnectionContext Context(DnsEndPoint target)
    {
        // The context's constructor is internal: a real handler makes one, and hands it to the callback under test.
        SocketsHttpConnectionContext? made = null;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = (context, _) =>
            {
                made = context;
                throw new OperationCanceledException();
            },
        };
        using var client = new HttpClient(handler);
        try
        {
            client.GetAsync($"http://{target.Host}:{target.Port}/").GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
        }

        return made!;
    }

    private sealed class Capture(HttpStatusCode status = HttpStatusCode.OK, bool throws = false) : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }

        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (throws)
            {
                throw new HttpRequestException("Connection refused");
            }

            Request = request;
            Body = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status);
        }
    }
}
