using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using PinGlass.Generations;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Styles;
using PinGlass.Photos.Intake;

namespace PinGlass.Api.Apis;

/// <summary>
/// Binds <c>POST /v1/generations</c>'s multipart form into a <see cref="GenerationOrder"/>: the photos, and the optional styles,
/// budget, options and batch fields, each checked; every field that cannot be used is named with why.
/// </summary>
public static class NewGenerationForm
{
    public static async Task<(GenerationOrder? Order, Dictionary<string, string[]> Errors)> ReadAsync(HttpRequest request, StyleCatalog catalog,
        PipelineOptions options, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(cancellationToken);
        var errors = new Dictionary<string, string[]>();
        var styles = ReadStyles(form["styles"], catalog, errors);
        var budget = ReadBudget(form["budget"], options, errors);
        var overrides = ReadOverrides(form["options"], errors);
        var batchSize = ReadInt(form["batchSize"], "batchSize", 1, StyleCatalog.StyleCount, errors);
        var batchDelay = ReadInt(form["batchDelayMs"], "batchDelayMs", 0, 60_000, errors);
        if (form.Files.Count == 0)
        {
            errors["photos"] = ["Send 10–20 photos of yourself as files."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var photos = new List<UploadedPhoto>();
        foreach (var file in form.Files)
        {
            using var buffer = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
            await file.CopyToAsync(buffer, cancellationToken);
            photos.Add(new UploadedPhoto(file.FileName, buffer.ToArray(), file.ContentType));
        }

        return (new GenerationOrder(photos, styles, budget, overrides!, batchSize, batchDelay is { } ms ? TimeSpan.FromMilliseconds(ms) : null), errors);
    }

    private static List<string> ReadStyles(StringValues values, StyleCatalog catalog, Dictionary<string, string[]> errors)
    {
        var ids = values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (ids.Count == 0)
        {
            return [.. catalog.All.Select(s => s.Id)];
        }

        var unknown = ids.Where(i => catalog.Find(i) is null).ToList();
        if (unknown.Count > 0)
        {
            errors["styles"] = [$"Unknown style(s): {string.Join(", ", unknown)}. GET /v1/styles lists them."];
        }

        if (ids.Distinct().Count() != ids.Count)
        {
            errors["styles"] = [.. errors.GetValueOrDefault("styles") ?? [], "A style is named more than once."];
        }

        return ids;
    }

    private static decimal ReadBudget(StringValues value, PipelineOptions options, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return options.BudgetPerGeneration;
        }

        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var budget) || budget <= 0
            || budget > options.MaxBudgetPerGeneration)
        {
            errors["budget"] = [$"budget must be an amount in USD above 0 and at most {options.MaxBudgetPerGeneration}, not '{value}'."];
        }

        return budget;
    }

    private static PortraitOverrides? ReadOverrides(StringValues value, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return new PortraitOverrides();
        }

        try
        {
            var settings = JsonSerializer.Deserialize<PortraitOverrides>(value.ToString(), PortraitOverrides.Json) ?? new PortraitOverrides();
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(settings, new(settings), results, validateAllProperties: true))
            {
                errors["options"] = [.. results.Select(r => r.ErrorMessage ?? "invalid")];
            }

            return settings;
        }
        catch (JsonException e)
        {
            errors["options"] = [$"options must be a JSON object with steps, seed, outputFormat and idWeightScale: {e.Message}"];
            return null;
        }
    }

    private static int? ReadInt(StringValues value, string name, int min, int max, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max)
        {
            return parsed;
        }

        errors[name] = [$"{name} must be a whole number from {min} to {max}, not '{value}'."];
        return null;
    }
}
