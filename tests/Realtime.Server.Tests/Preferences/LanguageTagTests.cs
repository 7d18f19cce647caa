using Realtime.Server.Preferences;

namespace Realtime.Server.Tests.Preferences;

public sealed class LanguageTagTests
{
    [Theory]
    [InlineData("en", "en")]
    [InlineData("de-AT", "de-AT")]
    [InlineData("de-at", "de-AT")]
    [InlineData("ZH-hant-tw", "zh-Hant-TW")]
    [InlineData("es-419", "es-419")]
    [InlineData("sl-rozaj-biske", "sl-rozaj-biske")]
    [InlineData("de-CH-1996", "de-CH-1996")]
    [InlineData("zh-yue-HK", "zh-yue-HK")]
    [InlineData("en-US-u-ca-gregory", "en-US-u-ca-gregory")]
    [InlineData("en-a-bbb-x-a-ccc", "en-a-bbb-x-a-ccc")]
    [InlineData("x-whatever", "x-whatever")]
    [InlineData("qaa-Qaaa-QM-x-southern", "qaa-Qaaa-QM-x-southern")]
    public void WellFormedTagsAreWrittenInTheirConventionalCase(string tag, string normalized) =>
        Assert.Equal(normalized, LanguageTag.Normalize(tag));

    [Theory]
    [InlineData("")]
    [InlineData("e")]
    [InlineData("de_AT")]
    [InlineData("de-")]
    [InlineData("-de")]
    [InlineData("de--AT")]
    [InlineData("123")]
    [InlineData("de-AT-x")]
    [InlineData("en-a")]
    [InlineData("en-a-b-c")]
    [InlineData("de-1996-1996")]
    [InlineData("en-u-ca-u-nu")]
    [InlineData("toolongsubtag")]
    [InlineData("déu")]
    [InlineData("de AT")]
    [InlineData("en-US-abcdefghi")]
    public void MalformedTagsAreRefused(string tag) => Assert.Null(LanguageTag.Normalize(tag));
}
