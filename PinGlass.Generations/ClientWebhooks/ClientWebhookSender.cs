using System.Globalization;
using System.Net.Http.Headers;
using StandardWebhooks;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>What one attempt came to: the receiver's status (none when no answer came) and why it failed.</summary>
public sealed record AttemptOutcome(bool Delivered, int? Status, string? Error);

/// <summary>
/// Posts a delivery to its callback, signed as Standard Webhooks specifies (<c>webhook-id</c>, <c>webhook-timestamp</c>,
/// <c>webhook-signature</c>: <c>v1,</c> and the HMAC-SHA256 of <c>id.timestamp.body</c> under the client's secret). Any 2xx answer
/// delivers it; anything else, no answer within the timeout included, is a failed attempt. Its handler connects only to targets
/// <see cref="CallbackTargets"/> allows, follows no redirect and uses no proxy.
/// </summary>
public sealed class ClientWebhookSender(HttpClient http, TimeProvider time)
{
    public async Task<AttemptOutcome> SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var timestamp = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(delivery.Body, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("webhook-id", delivery.MessageId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", new StandardWebhook(delivery.Secret).Sign(delivery.MessageId, timestamp, delivery.Body));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? new(true, status, null) : new(false, status, $"The callback answered {status} {response.ReasonPhrase}.");
        }
        catch (HttpRequestException e)
        {
            return new(false, null, e.Message);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(false, null, $"The callback did not answer within {http.Timeout.TotalSeconds:0} s.");
        }
    }
}
