using Fluid;
using Fluid.Ast;
using Fluid.Ast.BinaryExpressions;

namespace Realtime.Server.Templates;

/// <summary>
/// What a parsed template needs from a send, found by walking its syntax tree: the variables it
/// requires, and whether it stays within the tags and filters templates may use.
/// <para>
/// A variable (by its root name: <c>order</c> in <c>order.id</c>) is <b>required</b> unless every
/// use of it is optional: under a <c>default</c> filter (<c>{{ name | default: "there" }}</c>),
/// as the test of an <c>if</c>, <c>elsif</c>, <c>unless</c> or <c>case</c>, or inside an
/// <c>if</c> block that tests it (<c>{% if name %}Hi {{ name }}{% endif %}</c>). Names the
/// template makes itself (<c>assign</c>, <c>capture</c>, loop variables, <c>forloop</c>) are not variables.
/// </para>
/// </summary>
internal sealed class TemplateAnalysis : AstVisitor
{
    /// <summary>The tags a template may use: none of them reads a file or calls out.</summary>
    private static readonly HashSet<Type> AllowedStatements =
    [
        typeof(TextSpanStatement), typeof(OutputStatement), typeof(IfStatement), typeof(ElseIfStatement),
        typeof(ElseStatement), typeof(UnlessStatement), typeof(CaseStatement), typeof(WhenStatement),
        typeof(ForStatement), typeof(BreakStatement), typeof(ContinueStatement), typeof(AssignStatement),
        typeof(CaptureStatement), typeof(CommentStatement), typeof(RawStatement), typeof(IncrementStatement),
        typeof(DecrementStatement), typeof(CycleStatement), typeof(LiquidStatement), typeof(NoOpStatement),
    ];

    private static readonly HashSet<string> LoopNames = ["forloop", "parentloop"];

    private readonly Func<string, bool> _filterExists;
    private readonly SortedSet<string> _required = new(StringComparer.Ordinal);
    private readonly HashSet<string> _bound = new(StringComparer.Ordinal);
    private readonly List<string> _guarded = [];
    private int _optional;

    private TemplateAnalysis(Func<string, bool> filterExists) => _filterExists = filterExists;

    /// <summary>Variables the template cannot render without, in name order.</summary>
    public IReadOnlyCollection<string> Required => _required;

    /// <summary>Why the template may not be used (a tag or filter it may not use), or null.</summary>
    public string? Problem { get; private set; }

    public static TemplateAnalysis Of(IFluidTemplate template, Func<string, bool> filterExists)
    {
        var analysis = new TemplateAnalysis(filterExists);
        analysis.VisitTemplate(template);
        return analysis;
    }

    public override Statement Visit(Statement statement)
    {
        if (statement is null || Problem is not null)
        {
            return statement!;
        }
        if (!AllowedStatements.Contains(statement.GetType()))
        {
            Problem = $"The tag {TagName(statement)} is not available in notification templates (no files, no includes).";
            return statement;
        }
        switch (statement)
        {
            case IfStatement ifStatement:
                Test(ifStatement.Condition);
                Guarded(GuardOf(ifStatement.Condition), () => VisitAll(ifStatement.Statements));
                foreach (var elseIf in ifStatement.ElseIfs)
                {
                    Test(elseIf.Condition);
                    Guarded(GuardOf(elseIf.Condition), () => VisitAll(elseIf.Statements));
                }
                if (ifStatement.Else is { } otherwise)
                {
                    VisitAll(otherwise.Statements);
                }
                return statement;
            case UnlessStatement unless:
                Test(unless.Condition);
                VisitAll(unless.Statements);
                if (unless.Else is { } unlessElse)
                {
                    VisitAll(unlessElse.Statements);
                }
                return statement;
            case CaseStatement caseStatement:
                Test(caseStatement.Expression);
                foreach (var when in caseStatement.Whens)
                {
                    foreach (var option in when.Options)
                    {
                        Test(option);
                    }
                    VisitAll(when.Statements);
                }
                if (caseStatement.Else is { } caseElse)
                {
                    VisitAll(caseElse.Statements);
                }
                return statement;
            case ForStatement forStatement:
                Visit(forStatement.Source);
                Visit(forStatement.Limit);
                Visit(forStatement.Offset);
                var wasBound = !_bound.Add(forStatement.Identifier);
                VisitAll(forStatement.Statements);
                if (!wasBound)
                {
                    _bound.Remove(forStatement.Identifier);
                }
                if (forStatement.Else is { } forElse)
                {
                    VisitAll(forElse.Statements);
                }
                return statement;
            case AssignStatement assign:
                Visit(assign.Value);
                _bound.Add(assign.Identifier);
                return statement;
            case CaptureStatement capture:
                VisitAll(capture.Statements);
                _bound.Add(capture.Identifier);
                return statement;
            case IncrementStatement or DecrementStatement:
                return statement; // counters of their own, not variables
            default:
                return base.Visit(statement);
        }
    }

    public override Expression Visit(Expression expression)
    {
        switch (expression)
        {
            case null:
                return expression!;
            case MemberExpression member:
                if (member.Segments.Count > 0 && member.Segments[0] is IdentifierSegment root)
                {
                    Use(root.Identifier);
                }
                foreach (var segment in member.Segments.OfType<IndexerSegment>())
                {
                    Visit(segment.Expression);
                }
                return expression;
            case FilterExpression filter:
                if (!_filterExists(filter.Name))
                {
                    Problem ??= $"The filter '{filter.Name}' does not exist.";
                }
                var isDefault = filter.Name == "default";
                if (isDefault) _optional++;
                Visit(filter.Input);
                if (isDefault) _optional--;
                foreach (var parameter in filter.Parameters)
                {
                    Visit(parameter.Expression);
                }
                return expression;
            default:
                return base.Visit(expression);
        }
    }

    private void Use(string name)
    {
        if (_optional == 0 && !_bound.Contains(name) && !LoopNames.Contains(name) && !_guarded.Contains(name))
        {
            _required.Add(name);
        }
    }

    /// <summary>A condition: testing a variable is how a template says it is optional.</summary>
    private void Test(Expression expression)
    {
        _optional++;
        Visit(expression);
        _optional--;
    }

    private void Guarded(IReadOnlyList<string> names, Action visit)
    {
        _guarded.AddRange(names);
        visit();
        _guarded.RemoveRange(_guarded.Count - names.Count, names.Count);
    }

    /// <summary>
    /// The variables a condition proves present when it holds: <c>name</c>, <c>name.x</c>,
    /// <c>name != nil</c> (or blank, empty), and each side of an <c>and</c>.
    /// </summary>
    private static IReadOnlyList<string> GuardOf(Expression condition) => condition switch
    {
        MemberExpression { Segments: [IdentifierSegment root, ..] } => [root.Identifier],
        NotEqualBinaryExpression { Left: MemberExpression left, Right: LiteralExpression } => GuardOf(left),
        NotEqualBinaryExpression { Left: LiteralExpression, Right: MemberExpression right } => GuardOf(right),
        AndBinaryExpression and => [.. GuardOf(and.Left), .. GuardOf(and.Right)],
        _ => [],
    };

    private void VisitAll(IReadOnlyList<Statement> statements)
    {
        foreach (var statement in statements)
        {
            Visit(statement);
        }
    }

    private static string TagName(Statement statement)
    {
        var name = statement.GetType().Name;
        name = name.EndsWith("Statement", StringComparison.Ordinal) ? name[..^"Statement".Length] : name;
        return "'" + name.ToLowerInvariant() + "'";
    }
}
