using Microsoft.Extensions.Options;
using PinGlass.Faces.Calibration;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;

namespace PinGlass.Photos.Tests;

/// <summary>
/// The face-model calibration harness (tools/PinGlass.Faces.Calibration): its statistics, and its subset run on the chosen model
/// with the configured threshold, so that a model or threshold change that lets a stranger pass or calls the user a stranger fails CI.
/// Alone (its collection runs after the parallel ones): it starts two faces services of its own, which would otherwise compete for
/// the cores with the queue-order and timeout tests.
/// </summary>
[Collection(nameof(CalibrationHarnessTests))]
public sealed class CalibrationHarnessTests(FacesFixture fixture)
{
    [Fact]
    public void Separated_distributions_have_no_equal_error_and_a_threshold_midway()
    {
        double[] genuine = [0.1, 0.2, 0.4];
        double[] impostor = [0.8, 0.9, 1.0];
        Assert.Equal(0, DistanceStatistics.EqualErrorRate(genuine, impostor).FalseAcceptRate);
        Assert.Equal(0.6, DistanceStatistics.SuggestedThreshold(genuine, impostor), 9);
        var atOnePercent = DistanceStatistics.AtFalseAcceptRate(0.01, genuine, impostor);
        Assert.Equal(1, atOnePercent.TrueAcceptRate);
        Assert.Equal(0.4, atOnePercent.Threshold, 9);
    }

    [Fact]
    public void Overlapping_distributions_give_the_rate_where_both_errors_meet()
    {
        // One genuine pair (0.7) beyond one impostor pair (0.5): at 0.5 one of four genuine is rejected and one of four impostors accepted.
        double[] genuine = [0.1, 0.2, 0.3, 0.7];
        double[] impostor = [0.5, 0.8, 0.9, 1.0];
        var eer = DistanceStatistics.EqualErrorRate(genuine, impostor);
        Assert.Equal(0.25, eer.FalseAcceptRate, 9);
        Assert.Equal(0.25, eer.FalseRejectRate, 9);
        Assert.Equal(0.5, eer.Threshold, 9);
        var rates = DistanceStatistics.At(0.75, genuine, impostor);
        Assert.Equal((0.0, 0.25), (rates.FalseRejectRate, rates.FalseAcceptRate));
        // No impostor may pass at 1 %: the threshold stops below 0.5, and the 0.7 genuine pair is rejected.
        var strict = DistanceStatistics.AtFalseAcceptRate(0.01, genuine, impostor);
        Assert.Equal(0.75, strict.TrueAcceptRate, 9);
        Assert.True(strict.Threshold < 0.5);
    }

    [Fact]
    public void Distributions_summarise_with_interpolated_quantiles()
    {
        var summary = DistanceSummary.Of([0.0, 1.0, 2.0, 3.0, 4.0]);
        Assert.Equal((5, 0.0, 0.2, 2.0, 3.8, 4.0), (summary.Count, summary.Min, summary.P05, summary.Median, summary.P95, summary.Max));
    }

    [Fact]
    public async Task On_the_subset_every_variant_of_the_user_passes_and_no_stranger_does_at_the_configured_threshold()
    {
        var threshold = fixture.Get<IOptions<IdentityOptions>>().Value.Threshold;
        var run = new CalibrationRun(LocalFacesService.FindServiceDirectory(AppContext.BaseDirectory));
        var set = await run.BuildSetAsync("human", subset: true, TestContext.Current.CancellationToken);
        try
        {
            var report = await run.MeasureAsync("human", set, threshold, TestContext.Current.CancellationToken);
            var details = CalibrationReport.Details(report);

            Assert.True(set.Count(p => p.Identity.StartsWith("package:", StringComparison.Ordinal)) >= 4, details);
            Assert.Contains(report.Photos, p => p.Name == "astronaut/mirror 420 px" && p.Descriptor is not null);
            Assert.All(report.Misses, m => Assert.Contains(m.Name, CalibrationSet.ResidualMisses));
            Assert.All(report.Photos.Where(p => p.Identity == "astronaut"), p => Assert.NotNull(p.Descriptor));
            Assert.Empty(report.RejectedGenuine);
            Assert.Empty(report.AcceptedImpostors);
            Assert.Equal(0, report.FalseDetections);
            // As the screening and the gate compare: every genuine variant within, every impostor beyond.
            foreach (var (genuine, impostor) in new[] { report.Screening, report.Gate })
            {
                Assert.True(genuine.Max() <= threshold && impostor.Min() > threshold, details);
            }
        }
        finally
        {
            foreach (var photo in set)
            {
                photo.Dispose();
            }
        }
    }
}

[CollectionDefinition(nameof(CalibrationHarnessTests), DisableParallelization = true)]
public sealed class CalibrationHarnessCollection;
