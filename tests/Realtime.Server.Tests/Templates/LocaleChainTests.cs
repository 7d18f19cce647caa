using Realtime.Server.Templates;

namespace Realtime.Server.Tests.Templates;

public sealed class LocaleChainTests
{
    private static readonly string[] Available = ["en", "de", "pt-BR", "zh-Hant"];

    [Theory]
    [InlineData("de-AT", "de")]
    [InlineData("de", "de")]
    [InlineData("DE-at", "de")]
    [InlineData("pt-BR", "pt-BR")]
    [InlineData("pt-PT", "en")]
    [InlineData("pt", "en")]
    [InlineData("zh-Hant-TW", "zh-Hant")]
    [InlineData("fr-CA", "en")]
    [InlineData(null, "en")]
    [InlineData("", "en")]
    public void AWantedLocaleFallsToItsPrefixesThenToTheDefault(string? wanted, string expected) =>
        Assert.Equal(expected, LocaleChain.Resolve(wanted, Available, "en"));

    [Fact]
    public void TheTemplatesOwnSpellingIsAnswered() =>
        Assert.Equal("pt-BR", LocaleChain.Resolve("PT-br", Available, "en"));

    [Theory]
    [InlineData("en", true)]
    [InlineData("de-AT", true)]
    [InlineData("zh-Hant-TW", true)]
    [InlineData("es-419", true)]
    [InlineData("", false)]
    [InlineData("e", false)]
    [InlineData("de_AT", false)]
    [InlineData("de-", false)]
    [InlineData("-de", false)]
    [InlineData("de-toolongsubtag", false)]
    [InlineData("12-AT", false)]
    public void OnlyWellFormedLanguageTagsAreLocales(string tag, bool valid) =>
        Assert.Equal(valid, LocaleChain.IsValidTag(tag));
}
