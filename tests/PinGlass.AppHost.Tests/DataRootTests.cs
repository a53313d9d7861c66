using PinGlass.Hosting.LocalServers;

namespace PinGlass.AppHost.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataRootTests(PinGlassApp pinglass)
{
    [Fact]
    public async Task A_second_apphost_on_the_same_data_is_refused()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => PinGlassApp.StartAsync(pinglass.DataRoot));

        Assert.Contains($"Another PinGlass AppHost is using {pinglass.DataRoot}", error.ToString());
    }

    [Fact]
    public void A_folder_others_may_write_to_is_refused_for_data_and_passwords()
    {
        var folder = PinGlassApp.NewDataRoot();
        try
        {
            Directory.CreateDirectory(folder);
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);

            var error = Assert.Throws<DistributedApplicationException>(() => DataRoot.EnsureOwnFolder(folder, DataRoot.Private));

            Assert.Contains("belongs to another user or others may write to it", error.Message);
        }
        finally
        {
            PinGlassApp.DeleteDataRoot(folder);
        }
    }
}
