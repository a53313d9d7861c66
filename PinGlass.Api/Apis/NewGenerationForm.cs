using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using PinGlass.Generations;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Styles;
using PinGlass.Photos.Intake;

namespace PinGlass.Api.Apis;

/// <summary>
/// Binds <c>POST /v1/generations</c>'s multipart form into a <see cref="GenerationOrder"/>: the photos, and the optional styles,
/// budget, options and batch fields, each checked; every field that cannot be used is named with why. The body is read part by part
/// as it arrives, never buffered whole: a file is kept only while the upload's count and the file's size are within the intake limits,
/// and a file past them is read through and refused with its reason.
/// </summary>
public static class NewGenerationForm
{
    /// <summary>Bytes of one non-file field (the options JSON is the longest); a part's headers.</summary>
    private const int FieldLimit = 16 * 1024;

    /// <summary>Distinct non-file fields; the form has five.</summary>
    private const int FieldCountLimit = 16;

    /// <summary>What the form holds: an order, or the fields that cannot be used; and the files refused as they arrived.</summary>
    public sealed record Reading(GenerationOrder? Order, Dictionary<string, string[]> Errors, IReadOnlyList<IntakeError> Refused);

    public static async Task<Reading> ReadAsync(HttpRequest request, StyleCatalog catalog, PipelineOptions options, IntakeOptions intake,
        ClientWebhookOptions webhooks, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var fields = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        var photos = new List<UploadedPhoto>();
        var refused = new List<IntakeError>();
        var sent = 0;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            errors["form"] = ["The body is multipart/form-data with a boundary."];
            return new Reading(null, errors, refused);
        }

        var reader = new MultipartReader(boundary, request.Body) { HeadersCountLimit = 8, HeadersLengthLimit = FieldLimit };
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFormDisposition()
                    && !disposition.IsFileDisposition())
                {
                    errors["form"] = ["Every part is form-data, with a name."];
                    await section.Body.CopyToAsync(Stream.Null, cancellationToken);
                }
                else if (disposition.IsFileDisposition())
                {
                    sent++;
                    var name = HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? "";
                    if (photos.Count == intake.MaxFiles)
                    {
                        refused.Add(new IntakeError(name, IntakeErrorCode.TooManyFiles, $"Only {intake.MaxFiles} photos are read from one upload."));
                        await section.Body.CopyToAsync(Stream.Null, cancellationToken);
                    }
                    else if (await ReadUpToAsync(section.Body, intake.MaxBytes, cancellationToken) is { } content)
                    {
                        photos.Add(new UploadedPhoto(name, content, section.ContentType));
                    }
                    else
                    {
                        refused.Add(new IntakeError(name, IntakeErrorCode.TooLarge, $"The file has more than {intake.MaxBytes} bytes; at most {intake.MaxBytes} are accepted."));
                    }
                }
                else
                {
                    var key = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                    var value = await ReadUpToAsync(section.Body, FieldLimit, cancellationToken);
                    if (value is null)
                    {
                        errors[key] = [$"{key} is longer than {FieldLimit} bytes."];
                    }
                    else if (fields.Count < FieldCountLimit || fields.ContainsKey(key))
                    {
                        fields[key] = StringValues.Concat(fields.GetValueOrDefault(key), System.Text.Encoding.UTF8.GetString(value));
                    }
                    else
                    {
                        errors["form"] = [$"The form has more than {FieldCountLimit} fields."];
                    }
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !cancellationToken.IsCancellationRequested)
        {
            // A malformed body (a part's headers too long or too many, a body cut short): nothing of it is used.
            errors["form"] = [$"The multipart body cannot be read: {e.Message}"];
            return new Reading(null, errors, refused);
        }

        var styles = ReadStyles(fields.GetValueOrDefault("styles"), catalog, errors);
        var styleCount = ReadInt(fields.GetValueOrDefault("styleCount"), "styleCount", 1, StyleCatalog.StyleCount, errors);
        if (styleCount is not null && fields.ContainsKey("styles"))
        {
            errors["styleCount"] = ["Send styles or styleCount, not both."];
        }

        var budget = ReadBudget(fields.GetValueOrDefault("budget"), options, errors);
        var overrides = ReadOverrides(fields.GetValueOrDefault("options"), errors);
        var batchSize = ReadInt(fields.GetValueOrDefault("batchSize"), "batchSize", 1, StyleCatalog.StyleCount, errors);
        var batchDelay = ReadInt(fields.GetValueOrDefault("batchDelayMs"), "batchDelayMs", 0, 60_000, errors);
        var callbackUrl = ReadCallbackUrl(fields.GetValueOrDefault("callbackUrl"), webhooks, errors);
        if (intake.CountProblem(sent) is { } count)
        {
            errors["photos"] = [count];
        }

        return errors.Count > 0
            ? new Reading(null, errors, refused)
            : new Reading(new GenerationOrder(photos, styles, budget, overrides!, batchSize, batchDelay is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                Refused: refused, CallbackUrl: callbackUrl, StyleCount: styleCount), errors, refused);
    }

    /// <summary>The whole of <paramref name="body"/> if it holds at most <paramref name="limit"/> bytes; otherwise null, the rest read through.</summary>
    private static async Task<byte[]?> ReadUpToAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                await body.CopyToAsync(Stream.Null, cancellationToken);
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static List<string> ReadStyles(StringValues values, StyleCatalog catalog, Dictionary<string, string[]> errors)
    {
        if (values.Count == 0)
        {
            return [.. catalog.All.Select(s => s.Id)];
        }

        // Sent but naming no style (empty, or only commas) is a mistake, not a wish for all 23.
        var ids = values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (ids.Count == 0)
        {
            errors["styles"] = ["The styles field names no style; leave it out for all of them. GET /v1/styles lists them."];
            return [];
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

    private static string? ReadCallbackUrl(StringValues value, ClientWebhookOptions webhooks, Dictionary<string, string[]> errors)
    {
        if (StringValues.IsNullOrEmpty(value))
        {
            return null;
        }

        var url = value.Count == 1 ? value.ToString().Trim() : "";
        if (CallbackTargets.Problem(url, webhooks.AllowPrivateTargets is true) is { } problem)
        {
            errors["callbackUrl"] = [problem];
            return null;
        }

        return url;
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
