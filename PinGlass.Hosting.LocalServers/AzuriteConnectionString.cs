namespace PinGlass.Hosting.LocalServers;

/// <summary>The connection string of Azurite's blob service, with Azurite's published development account.</summary>
public static class AzuriteConnectionString
{
    public const string AccountName = "devstoreaccount1";

    // Azurite's well-known development key (documented by Azurite; not a secret).
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    // An IP address, not "localhost": the Azure SDK reads the account from the path only for IP hosts (or Azurite's default ports),
    // and would otherwise drop the container from every blob URL.
    public static ReferenceExpression For(EndpointReference blob) => ReferenceExpression.Create(
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blob.Property(EndpointProperty.Port)}/{AccountName};");
}
