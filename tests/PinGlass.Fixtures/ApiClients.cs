namespace PinGlass.Fixtures;

/// <summary>
/// A client application's calls to the Api in the tests and benchmarks: the AppHost is started with <see cref="DemoKey"/> as its demo
/// client's key (the <c>demo-api-key</c> parameter), and calls are about the end user <see cref="User"/> unless they say otherwise.
/// </summary>
public static class ApiClients
{
    public const string DemoKey = "pgk_tests_demo_client_key_0123456789abcdefghijklmnop";

    public const string User = "test-user";

    /// <summary>The AppHost argument that makes <see cref="DemoKey"/> the demo client's key.</summary>
    public const string DemoKeyArgument = $"--Parameters:demo-api-key={DemoKey}";

    /// <summary>Sends <paramref name="key"/> and names <paramref name="user"/> on every call of <paramref name="api"/>.</summary>
    public static HttpClient ActingFor(this HttpClient api, string key = DemoKey, string? user = User)
    {
        api.DefaultRequestHeaders.Authorization = new("Bearer", key);
        api.DefaultRequestHeaders.Remove("X-PinGlass-User");
        if (user is not null)
        {
            api.DefaultRequestHeaders.Add("X-PinGlass-User", user);
        }

        return api;
    }
}
