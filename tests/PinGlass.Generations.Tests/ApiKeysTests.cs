using System.Security.Cryptography;
using System.Text;
using PinGlass.Generations.Clients;

namespace PinGlass.Generations.Tests;

/// <summary>API keys and end-user ids as the Api reads them (#14 item 1).</summary>
public sealed class ApiKeysTests
{
    [Fact]
    public void A_key_is_256_random_bits_behind_the_prefix_and_is_kept_as_its_sha256()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => ApiKeys.New()).ToList();

        Assert.All(keys, key =>
        {
            Assert.StartsWith(ApiKeys.Prefix, key);
            Assert.Equal(ApiKeys.Prefix.Length + 43, key.Length); // 32 bytes in unpadded base64url
            Assert.Matches("^pgk_[A-Za-z0-9_-]{43}$", key);
        });
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(keys[0])), ApiKeys.Hash(keys[0]));
        Assert.NotEqual(ApiKeys.Hash(keys[0]), ApiKeys.Hash(keys[1]));
    }

    [Fact]
    public void A_keys_hint_shows_four_characters_past_the_prefix_and_no_more()
    {
        Assert.Equal("pgk_abcd…", ApiKeys.Hint("pgk_abcdefghijklmnopqrstuvwxyz"));
        Assert.Equal("ab…", ApiKeys.Hint("ab"));
    }

    [Theory]
    [InlineData("user-42", true)]
    [InlineData("auth0|5f7c8ec7c33c6c004bf6fd2d", true)]
    [InlineData("", false)]
    [InlineData("two words", false)]
    [InlineData("tab\there", false)]
    [InlineData("naïve", false)]
    [InlineData("x\u007f", false)]
    public void An_end_user_id_is_one_to_128_visible_ascii_characters(string id, bool valid)
    {
        Assert.Equal(valid, EndUsers.IsValid(id));
    }

    [Fact]
    public void An_end_user_id_is_at_most_128_characters()
    {
        Assert.True(EndUsers.IsValid(new string('u', 128)));
        Assert.False(EndUsers.IsValid(new string('u', 129)));
        Assert.False(EndUsers.IsValid(null));
    }
}
