using System.Net;
using System.Net.Sockets;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>
/// Where PinGlass may post a client's webhooks. A callback URL is checked when the generation is created (its form, and a host given as
/// an address) and again at every connection (the addresses its name resolves to then: a name that resolved to a public address when it
/// was checked and to an internal one at delivery, DNS rebinding, is refused where it matters). Outside Development, only public
/// unicast addresses are reached: not loopback, private, link-local (the cloud metadata service), shared, documentation or multicast.
/// </summary>
public static class CallbackTargets
{
    public const int MaxLength = 2000;

    /// <summary>Why <paramref name="url"/> cannot be a callback URL; null when it can.</summary>
    public static string? Problem(string url, bool allowPrivate)
    {
        if (url.Length > MaxLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"callbackUrl must be an absolute URL of at most {MaxLength} characters.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(allowPrivate && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "callbackUrl must be an https URL.";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "callbackUrl must not carry credentials or a fragment.";
        }

        if (!allowPrivate && (uri.IsLoopback || (IPAddress.TryParse(uri.IdnHost, out var address) && !IsPublic(address))))
        {
            return "callbackUrl must be a public address: not loopback, private, link-local or reserved.";
        }

        return null;
    }

    /// <summary>Whether <paramref name="address"/> is a public unicast address (an IPv4 address inside IPv6 is judged as IPv4).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224 // this network, private, loopback, multicast and reserved
                || (b[0] == 100 && b[1] >= 64 && b[1] < 128) // shared (carrier-grade NAT)
                || (b[0] == 169 && b[1] == 254) // link-local: the cloud metadata service
                || (b[0] == 172 && b[1] >= 16 && b[1] < 32)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2) // IETF protocol assignments, documentation
                || (b[0] == 198 && b[1] is 18 or 19) // benchmarking
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        var v6 = address.GetAddressBytes();
        var embedsIPv4 = v6[0] == 0x20 && v6[1] == 0x02 // 6to4
            || (v6[0] == 0 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b); // NAT64
        return !(address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6Loopback) || address.IsIPv6LinkLocal
            || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal
            || (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) // documentation
            || (v6[0] == 0 && v6[1] == 0 && v6.Take(10).All(x => x == 0)) // IPv4-compatible and other ::/80 forms
            || embedsIPv4);
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that resolves the host and connects only to an address allowed now (public,
    /// unless <paramref name="allowPrivate"/>): the check and the connection use the same address.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(bool allowPrivate) => async (context, cancellationToken) =>
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => allowPrivate || IsPublic(a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"{host} resolves to no public address ({string.Join(", ", addresses.Select(a => a.ToString()))}); callbacks reach public addresses only.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    };
}
