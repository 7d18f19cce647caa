using System.Text.Json;
using Realtime.Server.Notifications;
using Realtime.Server.Templates;

namespace Realtime.Server.Tests.Templates;

/// <summary>A template send rendered per recipient: the locale chain, the send's own locale, defaults and limits.</summary>
public sealed class TemplateSendRendererTests
{
    private static readonly TemplateEngine Engine = new(TimeProvider.System);

    private static readonly TemplateDefinition OrderShipped = new("order.shipped", "high", 604_800, "en", new()
    {
        ["en"] = new("Order {{ orderId }} shipped", "Hi {{ name | default: \"there\" }}, it is on its way.", "https://shop.example/orders/{{ orderId }}"),
        ["de"] = new("Bestellung {{ orderId }} ist unterwegs", "Hallo {{ name | default: \"du\" }}!", null),
        ["pt-BR"] = new("Pedido {{ orderId }} enviado", null, null),
    });

    /// <summary>The users' preferred locales, as the preferences feature would answer them.</summary>
    private sealed class FakeLocales(Dictionary<string, string> locales) : IRecipientLocales
    {
        public List<IReadOnlyCollection<string>> Calls { get; } = [];

        public ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
        {
            Calls.Add(userIds);
            return ValueTask.FromResult<IReadOnlyDictionary<string, string>>(locales);
        }
    }

    private static CompiledTemplate Compile(TemplateDefinition definition, int version = 3) =>
        CompiledTemplate.Compile(new StoredTemplate("order-shipped", version, definition, DateTime.UtcNow, DateTime.UtcNow), Engine);

    private static ValidatedSend Send(string[] userIds, string variables, string? locale = null, Action<SendRequest>? change = null)
    {
        var request = new SendRequest
        {
            UserIds = [.. userIds],
            Template = "order-shipped",
            Variables = JsonDocument.Parse(variables).RootElement.Clone(),
            Locale = locale,
        };
        change?.Invoke(request);
        var (send, errors) = SendRequestValidator.Validate(request);
        Assert.True(send is not null, string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value[0]}")));
        return send;
    }

    private static async Task<ValidatedSend> RenderAsync(ValidatedSend send, IRecipientLocales locales, TemplateDefinition? definition = null)
    {
        var (rendered, errors) = await new TemplateSendRenderer(Engine, locales).RenderAsync(send, Compile(definition ?? OrderShipped), CancellationToken.None);
        Assert.True(rendered is not null, string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value[0]}")));
        return rendered;
    }

    private static async Task<Dictionary<string, string[]>> ErrorsAsync(ValidatedSend send, TemplateDefinition definition)
    {
        var (rendered, errors) = await new TemplateSendRenderer(Engine, new NoRecipientLocales()).RenderAsync(send, Compile(definition), CancellationToken.None);
        Assert.Null(rendered);
        return errors;
    }

    [Fact]
    public async Task EachRecipientGetsTheTextOfTheirPreferredLocaleOrItsParentOrTheDefault()
    {
        var locales = new FakeLocales(new() { ["anna"] = "de-AT", ["bruno"] = "pt-BR", ["chloe"] = "fr-FR", ["dieter"] = "DE" });
        var send = await RenderAsync(Send(["anna", "bruno", "chloe", "dieter", "eve"], """{ "orderId": "123", "name": "Ann" }"""), locales);

        Assert.Equal(("Bestellung 123 ist unterwegs", "Hallo Ann!", null), send.TextFor("anna"));
        Assert.Equal(("Pedido 123 enviado", null, null), send.TextFor("bruno"));
        Assert.Equal(("Order 123 shipped", "Hi Ann, it is on its way.", "https://shop.example/orders/123"), send.TextFor("chloe"));
        Assert.Equal(("Bestellung 123 ist unterwegs", "Hallo Ann!", null), send.TextFor("dieter"));
        Assert.Equal(("Order 123 shipped", "Hi Ann, it is on its way.", "https://shop.example/orders/123"), send.TextFor("eve"));
        Assert.Equal(["anna", "bruno", "chloe", "dieter", "eve"], Assert.Single(locales.Calls));
    }

    [Fact]
    public async Task TheSendsOwnLocaleWinsOverPreferencesWhichAreThenNotRead()
    {
        var locales = new FakeLocales(new() { ["anna"] = "en" });
        var send = await RenderAsync(Send(["anna", "bruno"], """{ "orderId": "7" }""", locale: "de-CH"), locales);

        Assert.Equal("Bestellung 7 ist unterwegs", send.TextFor("anna").Title);
        Assert.Equal("Bestellung 7 ist unterwegs", send.TextFor("bruno").Title);
        Assert.Equal("Hallo du!", send.Body);
        Assert.Null(send.TextByUser); // one text for all: nothing per recipient
        Assert.Empty(locales.Calls);
    }

    [Fact]
    public async Task TheTemplatesCategoryPriorityAndTtlAreDefaultsTheSendMayOverride()
    {
        var byTemplate = await RenderAsync(Send(["anna"], """{ "orderId": "1" }"""), new NoRecipientLocales());
        Assert.Equal(("order.shipped", "high", 604_800L), (byTemplate.Category, byTemplate.Priority, byTemplate.TtlSeconds));

        var overridden = await RenderAsync(Send(["anna"], """{ "orderId": "1" }""", change: r => { r.Category = "orders"; r.Priority = "LOW"; r.TtlSeconds = 60; }), new NoRecipientLocales());
        Assert.Equal(("orders", "low", 60L), (overridden.Category, overridden.Priority, overridden.TtlSeconds));

        var bare = await RenderAsync(Send(["anna"], "{}"), new NoRecipientLocales(), new TemplateDefinition(null, null, null, "en", new() { ["en"] = new("Hi", null, null) }));
        Assert.Equal(("general", "normal", (long?)null), (bare.Category, bare.Priority, bare.TtlSeconds));
    }

    [Fact]
    public async Task TheRenderedSendRecordsTheTemplateVersionForTheIdempotencyHash()
    {
        var send = Send(["anna"], """{ "orderId": "1" }""");
        var v3 = (await new TemplateSendRenderer(Engine, new NoRecipientLocales()).RenderAsync(send, Compile(OrderShipped, 3), CancellationToken.None)).Send!;
        var v4 = (await new TemplateSendRenderer(Engine, new NoRecipientLocales()).RenderAsync(send, Compile(OrderShipped, 4), CancellationToken.None)).Send!;

        Assert.Equal(3, v3.Template!.Version);
        Assert.NotEqual(v3.ComputeHash(), v4.ComputeHash());
        Assert.NotEqual(v3.ComputeHash(), (await RenderAsync(Send(["anna"], """{ "orderId": "2" }"""), new NoRecipientLocales())).ComputeHash());
        Assert.NotEqual(v3.ComputeHash(), (await RenderAsync(Send(["anna"], """{ "orderId": "1" }""", locale: "de"), new NoRecipientLocales())).ComputeHash());
    }

    [Fact]
    public async Task MissingVariablesWithoutADefaultAreNamed()
    {
        var errors = await ErrorsAsync(Send(["anna"], """{ "name": "Ann" }"""), OrderShipped);
        Assert.Equal(["variables"], errors.Keys);
        Assert.Contains("orderId", errors["variables"][0]);
        Assert.DoesNotContain("name", errors["variables"][0].Replace("variables", ""));
    }

    [Fact]
    public async Task ANullVariableCountsAsMissing()
    {
        var errors = await ErrorsAsync(Send(["anna"], """{ "orderId": null }"""), OrderShipped);
        Assert.Contains("orderId", errors["variables"][0]);
    }

    [Fact]
    public async Task OnlyTheLocalesInUseNeedTheirVariables()
    {
        var definition = new TemplateDefinition(null, null, null, "en", new()
        {
            ["en"] = new("Hi {{ name | default: 'you' }}", null, null),
            ["de"] = new("Hallo {{ name }}", null, null),
        });
        var send = await RenderAsync(Send(["anna"], "{}"), new NoRecipientLocales(), definition);
        Assert.Equal("Hi you", send.Title);
        Assert.Contains("name", (await ErrorsAsync(Send(["anna"], "{}", locale: "de"), definition))["variables"][0]);
    }

    [Theory]
    [InlineData("{{ text }}", null, null, "template.locales.en.title")]
    [InlineData("{% if false %}x{% endif %}", null, null, "template.locales.en.title")]
    [InlineData("ok", "{{ text }}{{ text }}", null, "template.locales.en.body")]
    [InlineData("ok", null, "{{ text }}", "template.locales.en.link")]
    [InlineData("ok", null, "ftp://example.com/{{ orderId }}", "template.locales.en.link")]
    public async Task ARenderedTextOutsideTheSendLimitsIsNamedByItsTemplateField(string title, string? body, string? link, string field)
    {
        var definition = new TemplateDefinition(null, null, null, "en", new() { ["en"] = new(title, body, link) });
        var text = new string('x', 2_100);
        var errors = await ErrorsAsync(Send(["anna"], $$"""{ "text": "{{text}}", "orderId": "1" }"""), definition);
        Assert.Equal([field], errors.Keys);
    }

    [Fact]
    public async Task ATextThatRendersEmptyIsLeftOut()
    {
        var definition = new TemplateDefinition(null, null, null, "en", new() { ["en"] = new("Hi", "{{ note | default: '' }}", "{% if url %}{{ url }}{% endif %}") });
        var send = await RenderAsync(Send(["anna"], "{}"), new NoRecipientLocales(), definition);
        Assert.Equal(("Hi", null, null), send.TextFor("anna"));
    }
}

/// <summary>No preferences known: every recipient gets the send's locale or the template's default.</summary>
internal sealed class NoRecipientLocales : IRecipientLocales
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    public ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        ValueTask.FromResult(None);
}
