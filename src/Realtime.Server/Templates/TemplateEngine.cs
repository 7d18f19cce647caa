using System.Text.Json;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Realtime.Server.Templates;

/// <summary>
/// Liquid (Fluid) for notification texts, parsed once per template version and rendered per
/// send. Safe for templates from anyone with <c>templates:write</c>:
/// <list type="bullet">
/// <item>no file or network access: no file provider, and <see cref="TemplateAnalysis"/> admits only
/// tags that need neither (<c>include</c>, <c>render</c>, <c>from</c>, macros are refused when the template is saved);</item>
/// <item>bounded time: at most <see cref="MaxSteps"/> statements and loop turns, <see cref="MaxRecursion"/>
/// levels, and <see cref="MaxRenderTime"/> of wall-clock time checked at every filter and every write;</item>
/// <item>bounded memory: output stops at the field's limit, every filter result and capture at
/// <see cref="MaxValueLength"/> characters or <see cref="MaxArrayItems"/> items, every range at <see cref="MaxRangeLength"/>;</item>
/// <item>no HTML encoding: these are plain texts (a title, a body, a link), not HTML, so
/// <c>&lt;</c> stays <c>&lt;</c> (clients that put them into HTML must encode, as with direct sends).</item>
/// </list>
/// </summary>
internal sealed partial class TemplateEngine
{
    public const int MaxSteps = 10_000; // a notification text takes a few dozen; loops over a variable's items included
    public const int MaxRecursion = 10;
    public const int MaxValueLength = 4_096; // any string a filter or capture makes: the body limit, plus room
    public const int MaxArrayItems = 1_000;
    public const int MaxRangeLength = 1_000;
    public static readonly TimeSpan MaxRenderTime = TimeSpan.FromMilliseconds(500); // far above any real text; stops a pathological one

    private const string DeadlineKey = "realtime.deadline";

    // Built on first use: building Fluid's grammar costs start-up time a node that never sees a template need not pay.
    private readonly Lazy<FluidParser> _parser = new(() => new FluidParser(new FluidParserOptions { AllowFunctions = false }));
    private readonly TemplateOptions _options;
    private readonly TimeProvider _time;

    public TemplateEngine(TimeProvider time)
    {
        _time = time;
        _options = new TemplateOptions
        {
            MaxSteps = MaxSteps,
            MaxRecursion = MaxRecursion,
            StrictFilters = true,
            FileProvider = new Microsoft.Extensions.FileProviders.NullFileProvider(),
            CultureInfo = System.Globalization.CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            // The time_zone filter: only names shaped like IANA ids reach the system's zone files (no paths).
            TimeZoneResolver = id => IanaZoneId().IsMatch(id) ? TimeZoneInfo.FindSystemTimeZoneById(id) : throw new TimeZoneNotFoundException(),
            Now = time.GetUtcNow,
            ModelNamesComparer = StringComparer.Ordinal,
        };
        foreach (var (name, filter) in _options.Filters.ToList())
        {
            _options.Filters.AddFilter(name, Bounded(name, filter));
        }
    }

    /// <summary>The names of the filters a template may use.</summary>
    public bool HasFilter(string name) => _options.Filters.TryGetValue(name, out _);

    /// <summary>
    /// Parses and checks <paramref name="source"/> (<see cref="TemplateAnalysis"/>); on failure
    /// returns the parser's or the analysis's message instead of a template.
    /// </summary>
    public (ParsedTemplate? Template, string? Error) Parse(string source)
    {
        if (!_parser.Value.TryParse(source, out var template, out var error))
        {
            return (null, error.Split("\nSource:")[0].Trim()); // without the source it repeats
        }
        var analysis = TemplateAnalysis.Of(template, HasFilter);
        if (analysis.Problem is { } problem)
        {
            return (null, problem);
        }
        return (new ParsedTemplate(new Safeguards().VisitTemplate(template), analysis.Required), null);
    }

    /// <summary>The variables of a send as Liquid values: JSON objects become hashes, arrays arrays.</summary>
    public static IReadOnlyDictionary<string, FluidValue> Variables(JsonElement? variables)
    {
        var values = new Dictionary<string, FluidValue>(StringComparer.Ordinal);
        if (variables is { ValueKind: JsonValueKind.Object } element)
        {
            foreach (var property in element.EnumerateObject())
            {
                values[property.Name] = ToValue(property.Value);
            }
        }
        return values;
    }

    /// <summary>
    /// Renders <paramref name="template"/> with <paramref name="variables"/>, stopping once the
    /// output passes <paramref name="maxLength"/> characters (<see cref="RenderLimitException"/>).
    /// Any failure of the template is a <see cref="RenderLimitException"/> or the engine's own exception.
    /// </summary>
    public async Task<string> RenderAsync(ParsedTemplate template, IReadOnlyDictionary<string, FluidValue> variables, int maxLength)
    {
        var context = new TemplateContext(_options, StringComparer.Ordinal);
        foreach (var (name, value) in variables)
        {
            context.SetValue(name, value);
        }
        var deadline = Deadline.Start(_time);
        context.AmbientValues[DeadlineKey] = deadline;
        using var writer = new BoundedWriter(maxLength, deadline);
        await template.Template.RenderAsync(writer, NullEncoder.Default, context);
        return writer.ToString();
    }

    private static FluidValue ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => StringValue.Create(element.GetString()!),
        // Liquid numbers are decimals; one beyond them (1e300) stays its JSON text.
        JsonValueKind.Number => element.TryGetDecimal(out var number) ? NumberValue.Create(number) : StringValue.Create(element.GetRawText()),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        JsonValueKind.Array => new ArrayValue(element.EnumerateArray().Select(ToValue).ToArray()),
        JsonValueKind.Object => new DictionaryValue(new FluidValueDictionaryFluidIndexable(
            element.EnumerateObject().GroupBy(p => p.Name).ToDictionary(g => g.Key, g => ToValue(g.Last().Value)))),
        _ => NilValue.Instance,
    };

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z][A-Za-z0-9_+-]{0,40}(/[A-Za-z0-9_+-]{1,40}){0,2}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IanaZoneId();

    /// <summary>Every filter, checked for time before and for size after: a filter's result is where strings and arrays grow.</summary>
    private static FilterDelegate Bounded(string name, FilterDelegate filter) => async (input, arguments, context) =>
    {
        Deadline.Of(context)?.Check();
        var result = await filter(input, arguments, context);
        CheckSize(result, $"The filter '{name}'");
        return result;
    };

    private static void CheckSize(FluidValue value, string what)
    {
        if (value is StringValue && value.ToStringValue().Length > MaxValueLength)
        {
            throw new RenderLimitException($"{what} makes a text of more than {MaxValueLength} characters.");
        }
        if (value is ArrayValue array && array.Values.Count > MaxArrayItems)
        {
            throw new RenderLimitException($"{what} makes a list of more than {MaxArrayItems} items.");
        }
    }

    /// <summary>When the render started; past <see cref="MaxRenderTime"/> it stops.</summary>
    private sealed class Deadline(TimeProvider time, long started)
    {
        public static Deadline Start(TimeProvider time) => new(time, time.GetTimestamp());

        public static Deadline? Of(TemplateContext context) =>
            context.AmbientValues.TryGetValue(DeadlineKey, out var value) ? value as Deadline : null;

        public void Check()
        {
            if (time.GetElapsedTime(started) > MaxRenderTime)
            {
                throw new RenderLimitException($"Rendering took longer than {MaxRenderTime.TotalMilliseconds:0} ms.");
            }
        }
    }

    /// <summary>Collects output up to a limit; one character past it ends the render.</summary>
    private sealed class BoundedWriter(int maxLength, Deadline deadline) : StringWriter(System.Globalization.CultureInfo.InvariantCulture)
    {
        public override void Write(char value)
        {
            Ensure(1);
            base.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Ensure(count);
            base.Write(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Ensure(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(string? value)
        {
            Ensure(value?.Length ?? 0);
            base.Write(value);
        }

        public override Task WriteAsync(char value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(char[] buffer, int index, int count)
        {
            Write(buffer, index, count);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return Task.CompletedTask;
        }

        private void Ensure(int count)
        {
            deadline.Check();
            if (GetStringBuilder().Length + count > maxLength)
            {
                throw new RenderLimitException($"It renders more than {maxLength} characters.", outputTooLong: true);
            }
        }
    }

    /// <summary>Rewrites the parsed template so ranges and captures are bounded too.</summary>
    private sealed class Safeguards : AstRewriter
    {
        protected override Expression VisitRangeExpression(RangeExpression rangeExpression) =>
            new BoundedRange(rangeExpression.From, rangeExpression.To);

        protected override Statement VisitCaptureStatement(CaptureStatement captureStatement) =>
            new BoundedCapture(captureStatement.Identifier, base.VisitCaptureStatement(captureStatement) is CaptureStatement visited ? visited.Statements : captureStatement.Statements);
    }

    /// <summary><c>(from..to)</c>, refusing more than <see cref="MaxRangeLength"/> items before it allocates them.</summary>
    private sealed class BoundedRange(Expression from, Expression to) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var start = (long)(await from.EvaluateAsync(context)).ToNumberValue();
            var end = (long)(await to.EvaluateAsync(context)).ToNumberValue();
            if (end - start >= MaxRangeLength)
            {
                throw new RenderLimitException($"A range has more than {MaxRangeLength} items.");
            }
            var items = new FluidValue[Math.Max(0, end - start + 1)];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = NumberValue.Create(start + i);
            }
            return new ArrayValue(items);
        }
    }

    /// <summary><c>{% capture name %}…{% endcapture %}</c> into a bounded writer.</summary>
    private sealed class BoundedCapture(string identifier, IReadOnlyList<Statement> statements) : Statement
    {
        public override async ValueTask<Completion> WriteToAsync(TextWriter writer, System.Text.Encodings.Web.TextEncoder encoder, TemplateContext context)
        {
            using var captured = new BoundedWriter(MaxValueLength, Deadline.Of(context) ?? Deadline.Start(TimeProvider.System));
            var completion = await statements.RenderStatementsAsync(captured, encoder, context);
            FluidValue value = new StringValue(captured.ToString());
            if (context.Captured is { } hook)
            {
                value = await hook(identifier, value, context);
            }
            context.SetValue(identifier, value);
            return completion;
        }
    }
}

/// <summary>One field of a template, parsed and made safe, and the variables it cannot render without.</summary>
internal sealed record ParsedTemplate(IFluidTemplate Template, IReadOnlyCollection<string> Required);

/// <summary>A template went past one of <see cref="TemplateEngine"/>'s bounds.</summary>
internal sealed class RenderLimitException(string message, bool outputTooLong = false) : Exception(message)
{
    public bool OutputTooLong { get; } = outputTooLong;
}
