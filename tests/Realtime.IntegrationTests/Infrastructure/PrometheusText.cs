using System.Globalization;
using System.Text;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>One sample of a scrape: <c>name{labels} value</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public bool Has(string label, string value) => Labels.TryGetValue(label, out var actual) && actual == value;
}

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4): <c># HELP</c> and
/// <c># TYPE</c> lines, then samples <c>name{label="value",...} value [timestamp]</c>. Anything else
/// throws <see cref="FormatException"/> naming the line, as a scrape by Prometheus would fail.
/// </summary>
public sealed class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private PrometheusText(IReadOnlyDictionary<string, string> types, IReadOnlyList<PrometheusSample> samples)
    {
        TypesByFamily = types;
        Samples = samples;
    }

    /// <summary>The family name of each <c># TYPE</c> line and its type.</summary>
    public IReadOnlyDictionary<string, string> TypesByFamily { get; }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>The sum of every sample named <paramref name="name"/> whose labels include <paramref name="labels"/> (0 when none).</summary>
    public double Sum(string name, params (string Label, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Has(l.Label, l.Value))).Sum(s => s.Value);

    public bool Contains(string name) => Samples.Any(s => s.Name == name);

    public static PrometheusText Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<PrometheusSample>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                if (line.StartsWith('#'))
                {
                    ReadComment(line, types);
                }
                else
                {
                    var sample = ReadSample(line);
                    if (FamilyOf(sample.Name, types) is null)
                    {
                        throw new FormatException($"sample {sample.Name} has no # TYPE line before it");
                    }
                    samples.Add(sample);
                }
            }
            catch (Exception ex) when (ex is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                throw new FormatException($"line {lineNumber} is not Prometheus text ({ex.Message}): {line}", ex);
            }
        }
        return new PrometheusText(types, samples);
    }

    private static string? FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName))
        {
            return sampleName;
        }
        foreach (var suffix in new[] { "_bucket", "_sum", "_count", "_total", "_created" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(sampleName[..^suffix.Length]))
            {
                return sampleName[..^suffix.Length];
            }
        }
        return null;
    }

    private static void ReadComment(string line, Dictionary<string, string> types)
    {
        var parts = line.Split(' ', 4);
        if (parts.Length >= 2 && parts[1] == "TYPE")
        {
            var words = line.Split(' ');
            if (words.Length != 4 || !IsMetricName(words[2]) || !Types.Contains(words[3]))
            {
                throw new FormatException("a TYPE line is '# TYPE name type'");
            }
            if (!types.TryAdd(words[2], words[3]))
            {
                throw new FormatException($"{words[2]} has two TYPE lines");
            }
        }
        else if (parts.Length >= 2 && parts[1] == "HELP" && (parts.Length < 3 || !IsMetricName(parts[2])))
        {
            throw new FormatException("a HELP line is '# HELP name text'");
        }
    }

    private static PrometheusSample ReadSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }
        var name = line[..i];
        if (!IsMetricName(name))
        {
            throw new FormatException($"'{name}' is not a metric name");
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var start = i;
                while (line[i] != '=')
                {
                    i++;
                }
                var label = line[start..i];
                if (!IsLabelName(label) || line[i + 1] != '"')
                {
                    throw new FormatException($"bad label '{label}'");
                }
                i += 2;
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            _ => throw new FormatException($"bad escape \\{line[i]}"),
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                i++;
                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"label {label} twice");
                }
                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException("labels are separated by commas");
                }
            }
            i++;
        }
        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException("a space comes before the value");
        }
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2 || (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
        {
            throw new FormatException("a value and an optional timestamp follow the labels");
        }
        return new PrometheusSample(name, labels, ParseValue(rest[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw new FormatException($"'{text}' is not a sample value"),
    };

    private static bool IsMetricName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':') && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    private static bool IsLabelName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
