using System.Text.Json;
using PinGlass.Replicate.Client;

namespace PinGlass.Replicate.Tests;

public sealed class TimestampTests
{
    [Theory]
    [InlineData("2023-08-16T18:57:08Z", 0)]
    [InlineData("2024-04-22T11:15:01.04Z", 400_000)]
    [InlineData("2024-10-04T18:15:05.494Z", 4_940_000)]
    [InlineData("2023-08-16T18:57:08.360785Z", 3_607_850)]
    [InlineData("2023-08-16T18:57:08.3607851Z", 3_607_851)]
    [InlineData("2023-08-16T18:57:08.36078514Z", 3_607_851)]
    [InlineData("2023-08-16T18:57:08.999999999Z", 9_999_999)]
    public void Every_precision_Replicate_emits_parses_to_the_tick(string text, long ticksIntoSecond)
    {
        var parsed = ReplicateTimestamp.Parse(text);

        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        Assert.Equal(new DateTime(2000, 1, 1).AddTicks(ticksIntoSecond).Ticks % TimeSpan.TicksPerSecond, parsed.Ticks % TimeSpan.TicksPerSecond);
        Assert.Equal(text[..19], parsed.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void An_offset_is_converted_to_utc() =>
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), ReplicateTimestamp.Parse("2024-01-01T12:00:00.123456789+02:00").AddTicks(-1_234_567));

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2024-01-01")]
    [InlineData("2024-13-01T00:00:00Z")]
    public void Non_timestamps_are_refused(string text) => Assert.False(ReplicateTimestamp.TryParse(text, out _));

    [Fact]
    public void A_prediction_with_nine_digit_timestamps_deserializes()
    {
        const string json = """
            {"id":"x","model":"o/n","version":"v","status":"succeeded","created_at":"2023-08-16T18:57:08.360785149Z",
             "started_at":"2023-08-16T18:57:09.04Z","completed_at":null,"output":["https://replicate.delivery/a/out-0.png"],
             "metrics":{"predict_time":5.524512}}
            """;

        var prediction = JsonSerializer.Deserialize<Prediction>(json, ReplicateJson.Options)!;

        Assert.Equal(ReplicateTimestamp.Parse("2023-08-16T18:57:08.3607851Z"), prediction.CreatedAt);
        Assert.Equal(ReplicateTimestamp.Parse("2023-08-16T18:57:09.040Z"), prediction.StartedAt);
        Assert.Null(prediction.CompletedAt);
        Assert.Equal(["https://replicate.delivery/a/out-0.png"], prediction.OutputUrls);
        Assert.Equal(5.524512, prediction.Metrics!.PredictTime);
    }
}
