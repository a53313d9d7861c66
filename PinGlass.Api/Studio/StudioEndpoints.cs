namespace PinGlass.Api.Studio;

/// <summary>
/// The web studio (<c>wwwroot/studio</c>): static files open to anyone, since the page holds nothing; everything it shows comes from the
/// public API with the key the person gives it. Its pages may run only their own scripts and talk only to this Api.
/// </summary>
public static class StudioEndpoints
{
    private const string Path = "/studio";

    /// <summary>Scripts, styles and calls from this origin only; images also from the object URLs the page makes of the portraits.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static WebApplication MapStudio(this WebApplication app)
    {
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Path), studio => studio.Use(async (http, next) =>
        {
            http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            await next(http);
        }));
        app.MapStaticAssets().AllowAnonymous();
        // /studio and /studio/ (routing matches both): the page, whose fragment (#key=…) the browser keeps across the redirect.
        app.MapGet(Path, () => TypedResults.Redirect($"{Path}/index.html")).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}
