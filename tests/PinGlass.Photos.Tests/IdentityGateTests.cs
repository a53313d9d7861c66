using PinGlass.Fixtures;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Tests;

public sealed class IdentityGateTests(FacesFixture fixture)
{
    private static Task<ReferenceReport>? references;

    private readonly IdentityGate gate = fixture.Get<IdentityGate>();

    /// <summary>The references chosen from astronaut.png and two of its edits.</summary>
    private Task<ReferenceReport> References() => LazyInitializer.EnsureInitialized(ref references, () =>
    {
        using var astronaut = Samples.Astronaut();
        using var mirror = astronaut.Clone(x => x.Flip(FlipMode.Horizontal));
        using var crop = astronaut.Clone(x => x.Crop(new Rectangle(0, 0, 400, 400)).Resize(460, 460));
        return fixture.Get<ReferencePhotos>().ProcessAsync(
        [
            new UploadedPhoto("astronaut.png", File.ReadAllBytes(Samples.Path("astronaut.png"))),
            new UploadedPhoto("mirror.jpg", Samples.Encode(mirror, "jpeg")),
            new UploadedPhoto("crop.jpg", Samples.Encode(crop, "jpeg")),
        ]);
    });

    [Fact]
    public async Task A_portrait_like_crop_of_the_user_passes_with_a_high_identity_score()
    {
        using var astronaut = Samples.Astronaut();
        // A generated portrait: tighter framing, 1024 px, warmer light.
        using var portrait = astronaut.Clone(x => x.Crop(new Rectangle(110, 10, 300, 300)).Resize(1024, 1024).Brightness(1.05f).Saturate(1.2f));

        var verdict = await Check(portrait, new PortraitAttempt(0, 1.0));

        Assert.Equal(IdentityDecision.Pass, verdict.Decision);
        Assert.Equal(IdentityReason.SamePerson, verdict.Reason);
        Assert.InRange(verdict.Distance!.Value, 0, 0.35);
        Assert.InRange(verdict.IdentityScore!.Value, 0.65, 1);
        Assert.Null(verdict.NextReferenceIndex);
    }

    [Fact]
    public async Task Another_person_is_regenerated_once_with_the_next_reference_and_a_higher_id_weight_then_delivered_flagged()
    {
        using var camera = Samples.Camera();
        using var portrait = camera.Clone(x => x.Crop(new Rectangle(150, 30, 300, 300)).Resize(1024, 1024));

        var first = await Check(portrait, new PortraitAttempt(ReferenceIndex: 1, IdWeight: 1.0));
        Assert.Equal(IdentityDecision.Regenerate, first.Decision);
        Assert.Equal(IdentityReason.DifferentPerson, first.Reason);
        Assert.InRange(first.Distance!.Value, 0.6, 1.5);
        Assert.Equal(2 % (await References()).Selection.References.References.Count, first.NextReferenceIndex);
        Assert.Equal(1.3, first.NextIdWeight!.Value, 6);

        var second = await Check(portrait, new PortraitAttempt(first.NextReferenceIndex!.Value, first.NextIdWeight.Value, Regenerations: 1));
        Assert.Equal(IdentityDecision.DeliverFlagged, second.Decision);
        Assert.True(second.Flagged);
        Assert.Null(second.NextReferenceIndex);
    }

    [Fact]
    public async Task A_portrait_without_a_face_is_regenerated()
    {
        using var blank = new Image<Rgb24>(1024, 1024, new Rgb24(90, 120, 160));
        var verdict = await Check(blank, new PortraitAttempt(0, 1.0));

        Assert.Equal(IdentityDecision.Regenerate, verdict.Decision);
        Assert.Equal(IdentityReason.NoFace, verdict.Reason);
        Assert.Null(verdict.Distance);
    }

    [Fact]
    public async Task A_portrait_with_two_faces_fails_and_after_its_regeneration_is_delivered_flagged()
    {
        using var astronaut = Samples.Astronaut();
        using var collage = Samples.Collage(astronaut);
        var verdict = await Check(collage, new PortraitAttempt(0, 1.0, Regenerations: 1));

        Assert.Equal(IdentityDecision.DeliverFlagged, verdict.Decision);
        Assert.Equal(IdentityReason.SeveralFaces, verdict.Reason);
        Assert.Contains("1 regeneration(s) already made", verdict.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_id_weight_is_never_raised_beyond_the_cap()
    {
        using var blank = new Image<Rgb24>(512, 512);
        var verdict = await Check(blank, new PortraitAttempt(0, 1.9));
        Assert.Equal(2.0, verdict.NextIdWeight!.Value, 6);
    }

    [Fact]
    public async Task Checks_are_counted_by_decision_and_reason()
    {
        var measurements = new ConcurrentBag<Dictionary<string, object?>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PinGlass.ServiceDefaults.PinGlassTelemetry.Name && instrument.Name == "pinglass.identity.checks")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => measurements.Add(tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.Start();
        using var blank = new Image<Rgb24>(512, 512);
        using var astronaut = Samples.Astronaut();

        await Check(blank, new PortraitAttempt(0, 1.0));
        await Check(astronaut, new PortraitAttempt(0, 1.0));

        Assert.Contains(measurements, m => (string?)m["decision"] == "Regenerate" && (string?)m["reason"] == "NoFace");
        Assert.Contains(measurements, m => (string?)m["decision"] == "Pass" && (string?)m["reason"] == "SamePerson");
    }

    [Fact]
    public async Task Encoded_portraits_are_decoded_before_the_check()
    {
        using var astronaut = Samples.Astronaut();
        var verdict = await gate.CheckAsync(Samples.Encode(astronaut, "webp"), (await References()).Selection.References.Identity, new PortraitAttempt(0, 1.0),
            TestContext.Current.CancellationToken);
        Assert.Equal(IdentityDecision.Pass, verdict.Decision);
    }

    [Fact]
    public async Task References_described_by_another_face_model_are_not_compared()
    {
        using var astronaut = Samples.Astronaut();
        var analysis = await fixture.Get<PinGlass.Photos.Faces.FacesClient>().AnalyseAsync(astronaut, TestContext.Current.CancellationToken);
        // A centroid of face-api's 128 numbers, kept by a generation that started before the model changed.
        var before = new IdentityTarget(new float[128], 5);

        var e = Assert.Throws<FaceModelChangedException>(() => gate.Decide(analysis, before, new PortraitAttempt(0, 1.0)));
        Assert.Contains("128", e.Message, StringComparison.Ordinal);
    }

    private async Task<IdentityVerdict> Check(Image<Rgb24> portrait, PortraitAttempt attempt) =>
        await gate.CheckAsync(portrait, (await References()).Selection.References.Identity, attempt, TestContext.Current.CancellationToken);
}
