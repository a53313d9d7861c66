using System.Diagnostics;

namespace PinGlass.ServiceDefaults;

/// <summary>
/// The one name of PinGlass's own meter and activity source (ServiceDefaults exports both), and the activity source its services
/// start their spans from.
/// </summary>
public static class PinGlassTelemetry
{
    public const string Name = "PinGlass";

    public static readonly ActivitySource ActivitySource = new(Name);
}
