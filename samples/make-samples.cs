#:project ../tests/PinGlass.Fixtures/PinGlass.Fixtures.csproj
// Writes samples/photos: one person's upload (Eileen Collins, NASA, public domain) made from the fixture photographs, with the three
// photos a careful person's camera roll might slip in (another person, a blank frame, a two-face collage). Run: dotnet run samples/make-samples.cs
using PinGlass.Fixtures;

var folder = Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "samples", "photos");
Directory.CreateDirectory(folder);
foreach (var photo in Samples.ReferenceUpload())
{
    await File.WriteAllBytesAsync(Path.Combine(folder, photo.FileName), photo.Content.ToArray());
    Console.WriteLine($"{photo.FileName,-22} {photo.Content.Length,9:N0} bytes");
}
