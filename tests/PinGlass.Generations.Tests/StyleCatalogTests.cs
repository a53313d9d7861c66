using System.Text;
using System.Text.Json.Nodes;
using PinGlass.Generations.Styles;

namespace PinGlass.Platform.Tests;

public sealed class StyleCatalogTests
{
    [Fact]
    public void The_shipped_catalog_has_23_distinct_styles_within_the_model_ranges()
    {
        var catalog = StyleCatalog.Load();

        Assert.Equal(23, catalog.All.Count);
        Assert.Equal(23, catalog.All.Select(s => s.Id).Distinct().Count());
        Assert.Equal(23, catalog.All.Select(s => s.Prompt).Distinct().Count());
        Assert.All(catalog.All, style =>
        {
            Assert.Contains("the person", style.Prompt);
            Assert.InRange(style.Options.Width, 256, 1536);
            Assert.InRange(style.Options.Height, 256, 1536);
            Assert.InRange(style.Options.IdWeight, 0, 3);
            Assert.InRange(style.Options.GuidanceScale, 1, 10);
        });
    }

    [Fact]
    public void Every_negative_prompt_is_the_common_one_followed_by_the_styles_own()
    {
        var file = ShippedCatalog();
        var common = (string)file["commonNegativePrompt"]!;
        var catalog = StyleCatalog.Load();

        foreach (var (style, entry) in catalog.All.Zip(file["styles"]!.AsArray()))
        {
            Assert.Equal($"{common}, {entry!["negativePrompt"]}", style.NegativePrompt);
        }
    }

    [Fact]
    public void Styles_are_found_by_id_and_unknown_ids_are_not()
    {
        var catalog = StyleCatalog.Load();

        Assert.Equal("Professional headshot", catalog.Find("professional-headshot")?.Name);
        Assert.Null(catalog.Find("Professional-Headshot"));
        Assert.Null(catalog.Find("no-such-style"));
    }

    public static TheoryData<string, Action<JsonObject>, string> BrokenCatalogs => new()
    {
        { "one style too few", c => c["styles"]!.AsArray().RemoveAt(0), "22 styles" },
        { "duplicate id", c => c["styles"]![1]!["id"] = (string)c["styles"]![0]!["id"]!, "is used more than once" },
        { "id not kebab-case", c => c["styles"]![0]!["id"] = "Golden Hour", "kebab-case" },
        { "width off the latent grid", c => c["styles"]![2]!["options"]!["width"] = 900, "multiples of 16" },
        { "height too large", c => c["styles"]![2]!["options"]!["height"] = 2048, "multiples of 16 from 256 to 1536" },
        { "id weight out of range", c => c["styles"]![3]!["options"]!["idWeight"] = 3.5, "idWeight must be 0–3" },
        { "guidance out of range", c => c["styles"]![3]!["options"]!["guidanceScale"] = 0.5, "guidanceScale must be 1–10" },
        { "prompt missing", c => c["styles"]![4]!.AsObject().Remove("prompt"), "prompt must be" },
        { "prompt too long for the model", c => c["styles"]![4]!["prompt"] = new string('a', 501), "prompt must be 1–500" },
        { "options missing", c => c["styles"]![5]!.AsObject().Remove("options"), "options are missing" },
        { "common negative prompt missing", c => c.Remove("commonNegativePrompt"), "commonNegativePrompt is missing" },
    };

    [Theory]
    [MemberData(nameof(BrokenCatalogs))]
    public void A_broken_catalog_is_refused_with_the_problem_named(string breakage, Action<JsonObject> breakIt, string expected)
    {
        var file = ShippedCatalog();
        breakIt(file);

        var error = Assert.Throws<InvalidDataException>(() => StyleCatalog.Parse(AsStream(file.ToJsonString())));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{breakage}: {error.Message}");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"styles\": [")]
    [InlineData("[1, 2, 3]")]
    public void Malformed_json_is_refused_with_a_clear_error(string json)
    {
        var error = Assert.Throws<InvalidDataException>(() => StyleCatalog.Parse(AsStream(json)));

        Assert.StartsWith("The style catalog", error.Message);
    }

    private static JsonObject ShippedCatalog()
    {
        using var stream = typeof(StyleCatalog).Assembly.GetManifestResourceStream("PinGlass.Generations.Styles.styles.json")!;
        return JsonNode.Parse(stream)!.AsObject();
    }

    private static MemoryStream AsStream(string json) => new(Encoding.UTF8.GetBytes(json));
}
