using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace PinGlass.ReplicateEmulator.Http;

public sealed record Page<T>(IReadOnlyList<T> Items, string? Next, string? Previous);

/// <summary>
/// Replicate's cursor pagination: 100 a page, newest first, <c>next</c>/<c>previous</c> as absolute URLs whose opaque
/// cursor marks a position (older than, or newer than, an item), so pages stay stable while new items arrive.
/// </summary>
public static class Pagination
{
    public const int PageSize = 100;

    public static Page<T> Paginate<T>(IEnumerable<T> items, Func<T, long> sequence, HttpRequest request, string baseUrl)
    {
        var all = items.OrderByDescending(sequence).ToList();
        var (direction, position) = Decode(request.Query["cursor"]);
        List<T> page;
        if (direction == 'r')
        {
            // Previous page: the PageSize items just newer than the position, still listed newest first.
            page = [.. all.Where(i => sequence(i) > position).TakeLast(PageSize)];
        }
        else
        {
            page = [.. all.Where(i => direction != 'p' || sequence(i) < position).Take(PageSize)];
        }

        var url = $"{baseUrl}{request.PathBase}{request.Path}";
        string? Link(char dir, long at) => QueryHelpers.AddQueryString(url, request.Query
            .Where(q => q.Key != "cursor")
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new("cursor", Encode(dir, at))));

        var next = page.Count > 0 && all.Any(i => sequence(i) < sequence(page[^1])) ? Link('p', sequence(page[^1])) : null;
        var previous = page.Count > 0 && all.Any(i => sequence(i) > sequence(page[0])) ? Link('r', sequence(page[0])) : null;
        return new(page, next, previous);
    }

    private static string Encode(char direction, long position) =>
        WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes($"{direction}={position.ToString(CultureInfo.InvariantCulture)}"));

    private static (char Direction, long Position) Decode(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return ('\0', 0);
        }

        try
        {
            var text = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(cursor));
            return text.Length > 2 && text[1] == '=' && text[0] is 'p' or 'r'
                   && long.TryParse(text.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var position)
                ? (text[0], position)
                : ('\0', 0);
        }
        catch (FormatException)
        {
            return ('\0', 0);
        }
    }
}
