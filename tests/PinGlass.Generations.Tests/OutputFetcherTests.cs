using System.Net;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Completion;

namespace PinGlass.Generations.Tests;

/// <summary>Outputs come from outside: only allow-listed hosts, no redirects, a size cap, and only real images are copied.</summary>
public sealed class OutputFetcherTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    private static readonly byte[] Jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    private static readonly byte[] Webp = [.. "RIFF"u8, 0x24, 0, 0, 0, .. "WEBPVP8 "u8];

    [Theory]
    [InlineData("https://replicate.delivery/xezq/out-0.png")]
    [InlineData("https://pbxt.replicate.delivery/abc/out-0.png")]
    public async Task Allowed_hosts_are_fetched_and_the_type_comes_from_the_content(string url)
    {
        var handler = new StubHandler(_ => Answer(Png, "application/octet-stream"));

        var output = await Fetcher(handler).FetchAsync(url, TestContext.Current.CancellationToken);

        Assert.Equal(("image/png", "png"), (output.ContentType, output.Extension));
        Assert.Equal(Png, output.Content.ToArray());
        Assert.Equal(url, Assert.Single(handler.Requests).ToString());
    }

    [Theory]
    [InlineData("https://evil.example/out.png")]
    [InlineData("https://evilreplicate.delivery/out.png")]
    [InlineData("https://replicate.delivery.evil.example/out.png")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task Other_hosts_are_refused_without_a_request(string url)
    {
        var handler = new StubHandler(_ => Answer(Png, "image/png"));

        var error = await Assert.ThrowsAsync<OutputFetchException>(() => Fetcher(handler).FetchAsync(url, TestContext.Current.CancellationToken));

        Assert.Contains("Pipeline:OutputHosts", error.Message);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task An_inline_data_url_output_is_decoded_without_a_request_and_typed_by_its_content()
    {
        var handler = new StubHandler(_ => Answer(Png, "image/png"));

        var output = await Fetcher(handler).FetchAsync($"data:image/jpeg;base64,{Convert.ToBase64String(Png)}", TestContext.Current.CancellationToken);

        Assert.Equal(("image/png", "png"), (output.ContentType, output.Extension));
        Assert.Equal(Png, output.Content.ToArray());
        Assert.Empty(handler.Requests);
    }

    public static TheoryData<string, string> BadDataUrls => new()
    {
        { $"data:image/png;base64,{Convert.ToBase64String(Png.Concat(new byte[2_000]).ToArray())}", "larger than 1000" },
        { "data:image/png,%89PNG", "not base64" },
        { "data:image/png;base64,not*base64!", "does not decode" },
        { $"data:image/png;base64,{Convert.ToBase64String("<svg onload=alert(1)>"u8.ToArray())}", "not a PNG, JPEG or WebP" },
    };

    [Theory]
    [MemberData(nameof(BadDataUrls))]
    public async Task An_inline_output_over_the_cap_not_base64_or_not_an_image_is_refused(string url, string reason)
    {
        var handler = new StubHandler(_ => Answer(Png, "image/png"));

        var error = await Assert.ThrowsAsync<OutputFetchException>(() => Fetcher(handler, maxBytes: 1_000).FetchAsync(url, TestContext.Current.CancellationToken));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.False(error.Passing);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_redirect_is_not_followed()
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri("http://169.254.169.254/") } });

        var error = await Assert.ThrowsAsync<OutputFetchException>(() =>
            Fetcher(handler).FetchAsync("https://replicate.delivery/a.png", TestContext.Current.CancellationToken));

        Assert.Contains("302", error.Message);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task An_output_over_the_cap_is_refused_whether_or_not_it_announces_its_length()
    {
        var big = new byte[2_000];
        Png.CopyTo(big, 0);
        var announced = new StubHandler(_ => Answer(big, "image/png"));
        var streamed = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new MemoryStream(big)) });

        foreach (var handler in new[] { announced, streamed })
        {
            var error = await Assert.ThrowsAsync<OutputFetchException>(() =>
                Fetcher(handler, maxBytes: 1_000).FetchAsync("https://replicate.delivery/a.png", TestContext.Current.CancellationToken));
            Assert.Contains("1000", error.Message);
        }
    }

    [Fact]
    public async Task Content_that_is_not_an_image_is_refused_whatever_its_header_says()
    {
        var handler = new StubHandler(_ => Answer("<html>gotcha</html>"u8.ToArray(), "image/png"));

        var error = await Assert.ThrowsAsync<OutputFetchException>(() =>
            Fetcher(handler).FetchAsync("https://replicate.delivery/a.png", TestContext.Current.CancellationToken));

        Assert.Contains("not a PNG, JPEG or WebP", error.Message);
    }

    [Fact]
    public async Task Jpeg_and_webp_are_recognised_by_their_signatures()
    {
        var jpeg = await Fetcher(new StubHandler(_ => Answer(Jpeg, "text/plain"))).FetchAsync("https://replicate.delivery/a", TestContext.Current.CancellationToken);
        var webp = await Fetcher(new StubHandler(_ => Answer(Webp, "text/plain"))).FetchAsync("https://replicate.delivery/b", TestContext.Current.CancellationToken);

        Assert.Equal(("image/jpeg", "jpg"), (jpeg.ContentType, jpeg.Extension));
        Assert.Equal(("image/webp", "webp"), (webp.ContentType, webp.Extension));
    }

    private static OutputFetcher Fetcher(StubHandler handler, int maxBytes = 40_000_000) =>
        new(new HttpClient(handler), Options.Create(new PipelineOptions { MaxOutputBytes = maxBytes }));

    private static HttpResponseMessage Answer(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new(contentType);
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            return Task.FromResult(answer(request));
        }
    }
}
