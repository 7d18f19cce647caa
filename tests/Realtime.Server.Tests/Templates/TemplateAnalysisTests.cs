using Realtime.Server.Templates;

namespace Realtime.Server.Tests.Templates;

public sealed class TemplateAnalysisTests
{
    private static readonly TemplateEngine Engine = new(TimeProvider.System);

    private static IReadOnlyCollection<string> Required(string source)
    {
        var (parsed, error) = Engine.Parse(source);
        Assert.True(parsed is not null, $"'{source}' should parse: {error}");
        return parsed.Required;
    }

    private static string Refused(string source)
    {
        var (parsed, error) = Engine.Parse(source);
        Assert.True(parsed is null, $"'{source}' should be refused");
        return error!;
    }

    [Fact]
    public void AVariableUsedPlainlyIsRequired() =>
        Assert.Equal(["orderId"], Required("Order {{ orderId }} shipped"));

    [Fact]
    public void AVariableUnderADefaultFilterIsNotRequired() =>
        Assert.Empty(Required("Hi {{ name | default: \"there\" }}"));

    [Fact]
    public void ADefaultLaterInTheFilterChainStillCoversTheVariable() =>
        Assert.Empty(Required("Hi {{ name | upcase | default: \"there\" }}"));

    [Fact]
    public void AFilterAfterTheDefaultDoesNotMakeItRequired() =>
        Assert.Empty(Required("Hi {{ name | default: \"there\" | capitalize }}"));

    [Fact]
    public void AVariableGivenAsAFilterArgumentIsRequiredEvenInsideADefault() =>
        Assert.Equal(["fallback"], Required("{{ name | default: fallback }}"));

    [Fact]
    public void OnlyTheRootNameOfAMemberPathIsAVariable() =>
        Assert.Equal(["order"], Required("{{ order.id }} {{ order.items[0].name }}"));

    [Fact]
    public void AnIndexExpressionUsesItsOwnVariables() =>
        Assert.Equal(["index", "items"], Required("{{ items[index] }}"));

    [Fact]
    public void AVariableUsedOnceWithAndOnceWithoutADefaultIsRequired() =>
        Assert.Equal(["name"], Required("{{ name | default: 'you' }} and {{ name }}"));

    [Fact]
    public void TestingAVariableInAnIfMakesItOptionalInsideThatBlock() =>
        Assert.Empty(Required("{% if name %}Hi {{ name }}{% endif %}"));

    [Fact]
    public void ANotNilTestGuardsTheBlockToo() =>
        Assert.Empty(Required("{% if name != blank %}Hi {{ name }}{% elsif nick != nil %}Hi {{ nick }}{% endif %}"));

    [Fact]
    public void TheElseBranchOfAnIfIsNotGuarded() =>
        Assert.Equal(["name"], Required("{% if name %}a{% else %}{{ name }}{% endif %}"));

    [Fact]
    public void AGuardEndsWithItsBlock() =>
        Assert.Equal(["name"], Required("{% if name %}{{ name }}{% endif %}{{ name }}"));

    [Fact]
    public void BothSidesOfAnAndGuardTheBlock() =>
        Assert.Empty(Required("{% if first and last %}{{ first }} {{ last }}{% endif %}"));

    [Fact]
    public void UnlessAndCaseTestsDoNotRequireTheirVariable() =>
        Assert.Equal(["body"], Required("{% unless quiet %}!{% endunless %}{% case kind %}{% when 'a' %}{{ body }}{% endcase %}"));

    [Fact]
    public void LoopVariablesAssignmentsAndCapturesAreTheTemplatesOwn() =>
        Assert.Equal(["items"], Required(
            "{% for item in items %}{{ forloop.index }}. {{ item.name }}{% endfor %}{% assign total = 3 %}{{ total }}{% capture c %}x{% endcapture %}{{ c }}"));

    [Fact]
    public void ALoopVariableIsOnlyTheLoopsInsideIt() =>
        Assert.Equal(["item", "items"], Required("{% for item in items %}{% endfor %}{{ item }}"));

    [Fact]
    public void AVariableUsedBeforeItIsAssignedIsRequired() =>
        Assert.Equal(["x"], Required("{{ x }}{% assign x = 1 %}{{ x }}"));

    [Fact]
    public void LiteralsAreNotVariables() =>
        Assert.Empty(Required("{{ 'text' }}{{ 3 }}{% if empty == blank %}{{ nil }}{{ true }}{% endif %}"));

    [Theory]
    [InlineData("{% include 'header' %}")]
    [InlineData("{% render 'header' %}")]
    [InlineData("{% ifchanged %}x{% endifchanged %}")]
    [InlineData("{% tablerow i in (1..2) %}{{ i }}{% endtablerow %}")]
    public void TagsThatReadFilesOrBuildHtmlAreRefused(string source) =>
        Assert.Contains("not available", Refused(source));

    [Fact]
    public void AnUnknownFilterIsRefused() =>
        Assert.Contains("'shout'", Refused("{{ name | shout }}"));

    [Fact]
    public void ASyntaxErrorIsRefusedWithTheParsersPosition() =>
        Assert.Contains("(1:", Refused("Hi {{ name "));
}
