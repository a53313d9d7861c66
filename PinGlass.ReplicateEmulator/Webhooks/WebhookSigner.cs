using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace PinGlass.ReplicateEmulator.Webhooks;

/// <summary>
/// Signs webhooks as Replicate does (Standard Webhooks): <c>v1,</c> + base64 HMAC-SHA256 over <c>id.timestamp.body</c>,
/// keyed with the base64-decoded part of the <c>whsec_</c> secret.
/// </summary>
public sealed class WebhookSigner(IOptions<EmulatorOptions> options)
{
    private readonly StandardWebhook webhook = new(options.Value.WebhookSecret);

    public string Secret => options.Value.WebhookSecret;

    public string Sign(string webhookId, DateTimeOffset timestamp, string body) => webhook.Sign(webhookId, timestamp, body);
}
