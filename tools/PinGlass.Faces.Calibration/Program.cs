// The face-model calibration harness (PinGlass.Photos/README.md, "Choosing the face model"):
//   dotnet run -c Release --project tools/PinGlass.Faces.Calibration [-- --models human,faceapi] [--subset] [--sheet set.png]
// Builds the calibration set (two fixture faces under upload transforms, impostor faces from photos that the installed npm
// packages ship), runs every model over it through the faces service and prints, per model: genuine and impostor distance
// distributions, the equal error rate, the true-accept rate at a 1 % false-accept rate, misses and false detections, and
// milliseconds per photo. Exits 1 when the production model rejects a genuine variant or accepts an impostor at the configured
// threshold.
using System.Globalization;
using PinGlass.Faces.Calibration;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using SixLabors.ImageSharp;

var arguments = args.ToList();
string? Option(string name)
{
    var at = arguments.IndexOf(name);
    return at >= 0 && at + 1 < arguments.Count ? arguments[at + 1] : null;
}

var serviceDirectory = LocalFacesService.FindServiceDirectory(AppContext.BaseDirectory);
var models = (Option("--models") ?? string.Join(',', CalibrationModels.Installed(serviceDirectory))).Split(',', StringSplitOptions.RemoveEmptyEntries);
var subset = arguments.Contains("--subset");
var run = new CalibrationRun(serviceDirectory);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

var set = await run.BuildSetAsync(models[0], subset, cancel.Token);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Calibration set: {set.Count(p => !p.Identity.StartsWith("package:", StringComparison.Ordinal))} genuine variants of {CalibrationSet.Fixtures.Count} people, {set.Count(p => p.Identity.StartsWith("package:", StringComparison.Ordinal))} impostor faces (cut by {models[0]}); {Environment.ProcessorCount} cores"));
if (Option("--sheet") is { } sheetPath)
{
    using var sheet = CalibrationSet.ContactSheet(set);
    await sheet.SaveAsPngAsync(sheetPath, cancel.Token);
    Console.WriteLine($"Contact sheet of the set: {sheetPath}");
}

var reports = new List<ModelReport>();
foreach (var model in models)
{
    // The production model is judged at the configured threshold, the candidates at their own suggested one.
    var report = await run.MeasureAsync(model, set, model == CalibrationModels.Production ? new IdentityOptions().Threshold : null, cancel.Token);
    reports.Add(report);
    Console.WriteLine(CalibrationReport.Details(report));
}

Console.WriteLine(CalibrationReport.Table(reports));
foreach (var photo in set)
{
    photo.Dispose();
}

// Misses are printed, not failed on (a photo without a found face is refused as such, never taken for another person); a user's
// variant called another person, or a stranger passed, at the production model's threshold fails the run.
return reports.Any(r => r.Model == CalibrationModels.Production && (r.RejectedGenuine.Any() || r.AcceptedImpostors.Any())) ? 1 : 0;
