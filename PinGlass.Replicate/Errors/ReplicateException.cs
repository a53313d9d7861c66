using System.Net.Sockets;
using PinGlass.Replicate.Client;
using Polly.Timeout;

namespace PinGlass.Replicate.Errors;

/// <summary>A Replicate call that failed, with its category. The message never contains the token or request headers.</summary>
public sealed class ReplicateException(ErrorCategory category, string message, int? statusCode = null, ReplicateProblem? problem = null,
    TimeSpan? retryAfter = null, Exception? inner = null) : Exception(message, inner)
{
    public ErrorCategory Category { get; } = category;

    /// <summary>The HTTP status, or null when no answer arrived.</summary>
    public int? StatusCode { get; } = statusCode;

    public ReplicateProblem? Problem { get; } = problem;

    /// <summary>The server's <c>Retry-After</c> (header, else the body's <c>retry_after</c>).</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public IReadOnlyList<InvalidField> InvalidFields => Problem?.InvalidFields ?? [];

    /// <summary>True when the request cannot have reached Replicate, so nothing was created or billed.</summary>
    public bool NotSent => Category == ErrorCategory.RateLimit || InnerException is HttpRequestException { InnerException: SocketException
    {
        SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable
    } };

    /// <summary>Wraps a transport failure (no HTTP answer) in its category.</summary>
    public static ReplicateException FromTransport(Exception exception, string operation) => exception switch
    {
        TimeoutRejectedException => new(ErrorCategory.Timeout, $"{operation}: no answer within the attempt timeout.", inner: exception),
        _ => new(ErrorCategory.NetworkError, $"{operation}: {exception.Message}", inner: exception),
    };
}
