using System.Diagnostics;
using OpenTelemetry.Trace;

namespace PinGlass.ServiceDefaults;

/// <summary>
/// Keeps the Traces page for the work people look for. A client call (a database command, a Redis command, an HTTP request) that is
/// the root of its trace was made by background polling — Hangfire's queue and lock polling, the store probes, the progress
/// follower — not by a request or a job, whose own spans are its parents: thousands of one-span traces a minute that buried a
/// generation's trace. Those are not sampled; everything else is, and a span's children follow it (ParentBasedSampler).
/// </summary>
public sealed class BackgroundRootsSampler : Sampler
{
    private static readonly SamplingResult Keep = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind == ActivityKind.Client ? Drop : Keep;
}
