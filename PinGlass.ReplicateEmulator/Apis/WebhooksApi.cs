using Microsoft.AspNetCore.Http.HttpResults;
using PinGlass.ReplicateEmulator.Webhooks;

namespace PinGlass.ReplicateEmulator.Apis;

public sealed record WebhookSecretResponse(string Key);

/// <summary>The signing secret of the default webhook endpoint, used to verify the emulator's webhooks.</summary>
public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooksApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/webhooks/default/secret", (WebhookSigner signer) => TypedResults.Ok(new WebhookSecretResponse(signer.Secret)));
        return v1;
    }
}
