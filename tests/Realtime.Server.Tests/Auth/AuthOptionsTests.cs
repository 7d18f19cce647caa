using System.ComponentModel.DataAnnotations;
using Realtime.Server.Auth;

namespace Realtime.Server.Tests.Auth;

/// <summary>Start-up refuses an authentication configuration that could not validate tokens safely.</summary>
public sealed class AuthOptionsTests
{
    private const string Key32 = "0123456789abcdef0123456789abcdef";

    private static AuthOptions Hs256() => new() { SigningKey = Key32, Issuer = "realtime-tests", Audience = "realtime" };

    private static List<ValidationResult> Validate(AuthOptions options) =>
        options.Validate(new ValidationContext(options)).ToList();

    /// <summary>The members named by the errors, one entry per error.</summary>
    private static string[] Members(AuthOptions options) =>
        Validate(options).SelectMany(r => r.MemberNames).ToArray();

    [Fact]
    public void AValidHs256ConfigurationHasNoErrors() => Assert.Empty(Validate(Hs256()));

    [Fact]
    public void AnAuthorityWithAnAudienceAndNoKeyHasNoErrors() =>
        Assert.Empty(Validate(new AuthOptions { Authority = "https://login.example/realms/app", Audience = "realtime" }));

    [Fact]
    public void AKeyAndAnAuthorityTogetherHaveNoErrors()
    {
        var options = Hs256();
        options.Authority = "https://login.example/realms/app";
        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    public void ASigningKeyShorterThan32BytesIsAnError(int length)
    {
        var options = Hs256();
        options.SigningKey = new string('k', length);

        Assert.Equal(new[] { nameof(AuthOptions.SigningKey) }, Members(options));
    }

    [Fact]
    public void TheKeyLengthIsCountedInUtf8Bytes()
    {
        var options = Hs256();
        options.SigningKey = new string('é', 16); // 16 characters, 32 bytes
        Assert.Empty(Validate(options));

        options.SigningKey = new string('é', 15) + "k"; // 16 characters, 31 bytes
        Assert.Equal(new[] { nameof(AuthOptions.SigningKey) }, Members(options));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void AKeyWithoutAnIssuerIsAnError(string? issuer)
    {
        var options = Hs256();
        options.Issuer = issuer;

        Assert.Equal(new[] { nameof(AuthOptions.Issuer) }, Members(options));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NeitherAKeyNorAnAuthorityIsAnError(string? empty)
    {
        var options = new AuthOptions { SigningKey = empty, Authority = empty, Issuer = "realtime-tests", Audience = "realtime" };

        Assert.Equal(new[] { nameof(AuthOptions.SigningKey) }, Members(options));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void AMissingAudienceIsAnError(string? audience)
    {
        var options = Hs256();
        options.Audience = audience;

        Assert.Equal(new[] { nameof(AuthOptions.Audience) }, Members(options));
    }

    [Fact]
    public void AMissingAudienceIsAnErrorWithAnAuthorityToo() =>
        Assert.Equal(new[] { nameof(AuthOptions.Audience) }, Members(new AuthOptions { Authority = "https://login.example/" }));

    [Theory]
    [InlineData("login.example")]
    [InlineData("/realms/app")]
    public void AnAuthorityThatIsNotAnAbsoluteUrlIsAnError(string authority) =>
        Assert.Equal(new[] { nameof(AuthOptions.Authority) }, Members(new AuthOptions { Authority = authority, Audience = "realtime" }));

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var options = new AuthOptions { SigningKey = "short" };

        Assert.Equal(
            new[] { nameof(AuthOptions.Audience), nameof(AuthOptions.Issuer), nameof(AuthOptions.SigningKey) },
            Members(options).Order(StringComparer.Ordinal));
    }
}
