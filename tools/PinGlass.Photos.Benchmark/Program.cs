// Reference-photo benchmark: 20 phone-sized JPEGs (4032×3024) through intake, face analysis, scoring and selection against a
// faces service started here, then the five provider crops. Prints wall time, per-photo time and peak memory of both processes, and
// the bytes a generation's references send to Replicate. --noise gives the photos a phone sensor's noise (which makes JPEGs large).
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

const int Photos = 20;
const int Width = 4032, Height = 3024;
const double Target = 5;

var noisy = args.Contains("--noise");
Console.WriteLine($"Generating {Photos} JPEGs of {Width}×{Height} from astronaut.png{(noisy ? " with sensor noise" : "")} (not timed)...");
var files = PinGlass.Fixtures.Samples.PhoneRoll(Photos, Width, Height, noisy);
Console.WriteLine($"  {files.Sum(f => f.Content.Length) / 1e6:F1} MB in all");

await using var faces = await LocalFacesService.StartAsync(LocalFacesService.FindServiceDirectory(AppContext.BaseDirectory), TimeSpan.FromSeconds(60));
var builder = Host.CreateApplicationBuilder();
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Photos:Faces:BaseAddress"] = faces.BaseAddress.AbsoluteUri });
builder.Logging.ClearProviders();
builder.AddPhotos();
using var host = builder.Build();
var pipeline = host.Services.GetRequiredService<ReferencePhotos>();
var crop = host.Services.GetRequiredService<ProviderCrop>();

// One small analysis first: the first inference compiles the wasm kernels, which a running service has long done.
using (var warm = Image.Load<Rgb24>(Path.Combine(AppContext.BaseDirectory, "astronaut.png")))
{
    await host.Services.GetRequiredService<FacesClient>().AnalyseAsync(warm);
}

GC.Collect();
ResetPeak(Environment.ProcessId);
ResetPeak(faces.ProcessId);

var (dotnetCpu, nodeCpu) = (CpuSeconds(Environment.ProcessId), CpuSeconds(faces.ProcessId));
var started = Stopwatch.GetTimestamp();
using var report = await pipeline.ProcessAsync(files);
var selected = Stopwatch.GetElapsedTime(started);
(dotnetCpu, nodeCpu) = (CpuSeconds(Environment.ProcessId) - dotnetCpu, CpuSeconds(faces.ProcessId) - nodeCpu);
var crops = report.Selection.References.References.Select(crop.Create).ToList();
var total = Stopwatch.GetElapsedTime(started);

var accepted = report.Selection.Assessments.Count(a => a.Rejection is null);
Console.WriteLine($"Photos: {Photos} × {Width}×{Height} JPEG; accepted {accepted}, rejected {report.Selection.Assessments.Count - accepted}, refused at intake {report.Refused.Count}; chosen {crops.Count}");
Console.WriteLine($"Intake + analysis + scoring + selection: {selected.TotalSeconds:F2} s ({selected.TotalMilliseconds / Photos:F0} ms per photo)");
Console.WriteLine($"Plus {crops.Count} provider crops ({string.Join(", ", crops.Select(c => $"{c.Width} px").Distinct())}): {total.TotalSeconds:F2} s in all");
// Each portrait's prediction carries one reference as a data URL, the five taking turns over 23 portraits.
var dataUrls = crops.Select(c => "data:image/jpeg;base64,".Length + 4 * ((c.Jpeg.Length + 2) / 3)).ToList();
Console.WriteLine($"References as sent: {crops.Min(c => c.Jpeg.Length) / 1000.0:F0}–{crops.Max(c => c.Jpeg.Length) / 1000.0:F0} kB files (limit {ProviderCrop.MaxBytes / 1000} kB), " +
    $"{dataUrls.Min() / 1000.0:F0}–{dataUrls.Max() / 1000.0:F0} kB data URLs; a generation's 23 predictions send {Enumerable.Range(0, 23).Sum(i => dataUrls[i % dataUrls.Count]) / 1e6:F1} MB of them");
// Wall time depends on what else the machine runs; CPU time does not, and bounds the wall time on idle cores.
Console.WriteLine($"CPU time of intake to selection: .NET {dotnetCpu:F2} s, Node {nodeCpu:F2} s; on {Environment.ProcessorCount} idle cores the wall time cannot be below {(dotnetCpu + nodeCpu) / Environment.ProcessorCount:F2} s");
Console.WriteLine($"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (other processes compete for the cores)");
Console.WriteLine($"Peak memory (VmHWM): .NET {Peak(Environment.ProcessId)} MB, Node faces service {Peak(faces.ProcessId)} MB");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");
// The scale issue's target for the photos' part of a client's wait: 20 photos of 12 MP analysed, chosen and cropped within 5 s.
Console.WriteLine($"Photos to crops: {total.TotalSeconds:F2} s (target ≤ {Target:F0} s: {(total.TotalSeconds <= Target ? "met" : "not met")})");
return total.TotalSeconds <= Target ? 0 : 1;

// Writing 5 to clear_refs resets the peak resident size (Linux), so generation and model loading are not counted.
static void ResetPeak(int pid)
{
    try
    {
        File.WriteAllText($"/proc/{pid}/clear_refs", "5");
    }
    catch (IOException)
    {
        Console.WriteLine($"  (could not reset the peak of process {pid}; its figure includes start-up)");
    }
    catch (UnauthorizedAccessException)
    {
        Console.WriteLine($"  (could not reset the peak of process {pid}; its figure includes start-up)");
    }
}

// utime + stime of /proc/<pid>/stat, in clock ticks of 1/100 s; the Node figure includes its worker threads.
static double CpuSeconds(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static string Peak(int pid)
{
    var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    var kb = line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    return (kb / 1024.0).ToString("F0", CultureInfo.InvariantCulture);
}
