using StandardWebhooks;

namespace PinGlass.Generations.Webhooks;

/// <summary>
/// Replicate's webhook signing secret, kept for every request (a singleton; the typed client that fetches it is the caller's): fetched
/// once, and again after a failed verification (it may have been rotated), at most once a minute.
/// </summary>
public sealed class WebhookSecret(TimeProvider time)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim fetching = new(1, 1);
    private (StandardWebhook Verifier, DateTimeOffset FetchedAt)? secret;

    /// <summary>Whether a failed verification may fetch the secret again.</summary>
    public bool MayRefresh => secret is { } known && time.GetUtcNow() - known.FetchedAt > Refresh;

    public async Task<StandardWebhook> VerifierAsync(Func<CancellationToken, Task<string>> fetch, bool refresh, CancellationToken cancellationToken)
    {
        if (!refresh && secret is { } cached)
        {
            return cached.Verifier;
        }

        await fetching.WaitAsync(cancellationToken);
        try
        {
            if (refresh || secret is null)
            {
                secret = (new StandardWebhook(await fetch(cancellationToken)), time.GetUtcNow());
            }

            return secret.Value.Verifier;
        }
        finally
        {
            fetching.Release();
        }
    }
}
