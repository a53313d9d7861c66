using System.Diagnostics.Metrics;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;

namespace PinGlass.Photos;

/// <summary>Reference-photo and identity measurements on the "PinGlass" meter.</summary>
public sealed class PhotoMetrics
{
    private readonly Counter<long> refused;
    private readonly Counter<long> busy;
    private readonly Counter<long> analysed;
    private readonly Counter<long> rejected;
    private readonly Histogram<double> analysisDuration;
    private readonly Counter<long> identityChecks;
    private readonly Histogram<double> identityDistance;

    public PhotoMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(PinGlass.ServiceDefaults.PinGlassTelemetry.Name);
        refused = meter.CreateCounter<long>("pinglass.photos.intake_refused", "{file}", "Uploaded files refused at intake, by reason.");
        busy = meter.CreateCounter<long>("pinglass.photos.analysis.queue_full", "{upload}", "Uploads refused with a 503 because the analysis queue was full or its wait too long.");
        analysed = meter.CreateCounter<long>("pinglass.photos.analysed", "{photo}", "Reference photos analysed by the faces service.");
        rejected = meter.CreateCounter<long>("pinglass.photos.rejected", "{photo}", "Reference photos rejected by selection, by reason.");
        analysisDuration = meter.CreateHistogram<double>("pinglass.photos.analysis.duration", "ms", "Face analysis time per photo, including transfer.");
        identityChecks = meter.CreateCounter<long>("pinglass.identity.checks", "{portrait}", "Portraits checked by the identity gate, by decision and reason.");
        identityDistance = meter.CreateHistogram<double>("pinglass.identity.distance", "1", "Descriptor distance of portraits to the reference centroid.");
    }

    internal void Refused(IntakeErrorCode code) => refused.Add(1, new KeyValuePair<string, object?>("reason", code.ToString()));

    internal void Busy() => busy.Add(1);

    internal void Analysed(double milliseconds)
    {
        analysed.Add(1);
        analysisDuration.Record(milliseconds);
    }

    internal void Rejected(RejectionReason reason) => rejected.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));

    internal void IdentityChecked(IdentityVerdict verdict)
    {
        identityChecks.Add(1, new KeyValuePair<string, object?>("decision", verdict.Decision.ToString()), new KeyValuePair<string, object?>("reason", verdict.Reason.ToString()));
        if (verdict.Distance is { } distance)
        {
            identityDistance.Record(distance);
        }
    }
}
