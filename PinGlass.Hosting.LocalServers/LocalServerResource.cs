namespace PinGlass.Hosting.LocalServers;

/// <summary>
/// A server run as a local process (no container runtime), exposing one TCP endpoint and the connection string its container
/// twin would give, so the services cannot tell the difference.
/// </summary>
public sealed class LocalServerResource(
    string name,
    string command,
    string workingDirectory,
    Func<EndpointReference, ReferenceExpression> connectionString)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference Endpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => connectionString(Endpoint);
}
