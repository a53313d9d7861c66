using System.Net.Http.Headers;
using PinGlass.Photos.Intake;

namespace PinGlass.Fixtures;

/// <summary>The multipart body of <c>POST /v1/generations</c>, as a client app sends it: the photos as files, then the form fields.</summary>
public static class GenerationForm
{
    public static MultipartFormDataContent Create(IEnumerable<UploadedPhoto> photos, IEnumerable<(string Name, string Value)> fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var photo in photos)
        {
            // The type says nothing: PinGlass sniffs the format from the content.
            var file = new ByteArrayContent(photo.Content.ToArray());
            file.Headers.ContentType = MediaTypeHeaderValue.Parse("application/octet-stream");
            form.Add(file, "photos", photo.FileName);
        }

        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }
}
