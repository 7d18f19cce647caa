using Realtime.Server.Auth;
using Realtime.Server.Notifications;

namespace Realtime.Server.Tests.Auth;

/// <summary>One rule for every user id (a token's sub, a recipient): README "Security".</summary>
public sealed class UserIdRulesTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("a")]
    [InlineData("user@example.com")]
    [InlineData("\u00e9l\u00e8ve")]
    [InlineData("\ud83d\ude00 emoji")]
    [InlineData("tab-free but spaced out")]
    public void ValidUserIdsPass(string userId) => Assert.Null(UserIdRules.Problem(userId));

    [Theory]
    [InlineData("", "1 to 200")]
    [InlineData("a\0b", "NUL")]
    [InlineData("a\tb", "control")]
    [InlineData("a\nb", "control")]
    [InlineData("a\u001fb", "control")]
    [InlineData("a\u007fb", "control")]
    [InlineData("a\u0085b", "control")]
    [InlineData("a\u009fb", "control")]
    public void InvalidUserIdsSayWhy(string userId, string reason) =>
        Assert.Contains(reason, UserIdRules.Problem(userId));

    /// <summary>Not theory data: xUnit would turn a lone surrogate into U+FFFD on the way to the test.</summary>
    [Fact]
    public void UnpairedSurrogatesAreRefused()
    {
        foreach (var userId in new[] { "a\ud800b", "a\udc00", "\ud800", "\ude00\ud83d" })
        {
            Assert.Contains("surrogates", UserIdRules.Problem(userId));
        }
    }

    [Fact]
    public void TwoHundredCharactersPassAndTwoHundredAndOneDoNot()
    {
        Assert.Null(UserIdRules.Problem(new string('u', 200)));
        Assert.NotNull(UserIdRules.Problem(new string('u', 201)));
    }

    [Fact]
    public void TruncatingNeverSplitsASurrogatePair()
    {
        Assert.Equal("ab", TextRules.Truncate("ab\ud83d\ude00", 3));
        Assert.Equal("ab\ud83d\ude00", TextRules.Truncate("ab\ud83d\ude00", 4));
        Assert.Equal("abc", TextRules.Truncate("abc", 10));
    }

    [Theory]
    [InlineData("0", 1)]
    [InlineData("-1.50", 5)]
    [InlineData("1e3", 4)]
    [InlineData("1.5e-2", 5)]
    [InlineData("1e131071", 131_072)]
    [InlineData("1e-16383", 16_385)]
    [InlineData("0e999999", 1)]
    public void StorableNumbersHaveTheLengthPostgreSqlWritesOut(string number, long length) =>
        Assert.Equal(length, JsonbNumbers.StoredLength(number));

    [Theory]
    [InlineData("1e999999")]
    [InlineData("1e131072")]
    [InlineData("1e-16384")]
    [InlineData("0e-999999")]
    [InlineData("0e1073741823")]
    [InlineData("1e99999999999999999999")]
    public void NumbersNumericCannotHoldAreNotStorable(string number) => Assert.False(JsonbNumbers.IsStorable(number));
}
