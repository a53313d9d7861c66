namespace PinGlass.ReplicateEmulator.Billing;

/// <summary>How a model bills: by predict time (hardware price per second) or per output image.</summary>
public sealed record Price(bool IsPerImage, decimal UsdPerUnit)
{
    public static Price PerSecond(decimal usd) => new(false, usd);

    public static Price PerImage(decimal usd) => new(true, usd);

    public string Unit => IsPerImage ? "image" : "second";
}
