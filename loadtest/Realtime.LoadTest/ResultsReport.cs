using System.Globalization;
using System.Text;
using System.Text.Json;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest;

/// <summary>The end of a run: a table (one column per target, and the first divided by the second) and JSON.</summary>
internal static class ResultsReport
{
    public static string Table(string scenario, IReadOnlyList<ScenarioResult> results)
    {
        var names = results.SelectMany(r => r.Metrics.Select(m => m.Key)).Distinct().ToList();
        var header = new List<string> { scenario }.Concat(results.Select(r => r.Target)).ToList();
        if (results.Count >= 2)
        {
            header.Add($"{results[0].Target} / {results[1].Target}");
        }
        var rows = new List<List<string>> { header };
        foreach (var name in names)
        {
            var row = new List<string> { name };
            row.AddRange(results.Select(r => r.Has(name) ? Format(r[name]) : "-"));
            if (results.Count >= 2)
            {
                var a = results[0].Has(name) ? results[0][name] : double.NaN;
                var b = results[1].Has(name) ? results[1][name] : double.NaN;
                row.Add(b != 0 && !double.IsNaN(a) && !double.IsNaN(b) ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-");
            }
            rows.Add(row);
        }
        var widths = Enumerable.Range(0, header.Count).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var (row, index) in rows.Select((r, i) => (r, i)))
        {
            sb.Append("| ").Append(string.Join(" | ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c])))).AppendLine(" |");
            if (index == 0)
            {
                sb.Append("|").Append(string.Join("|", widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":"))).AppendLine("|");
            }
        }
        foreach (var result in results)
        {
            foreach (var note in result.Notes)
            {
                sb.Append("  ").Append(result.Target).Append(": ").AppendLine(note);
            }
        }
        return sb.ToString();
    }

    public static string Json(LoadTestOptions options, string machine, string[] args, IReadOnlyList<ScenarioResult> results) =>
        JsonSerializer.Serialize(new
        {
            scenario = options.Scenario,
            machine,
            command = string.Join(' ', args),
            at = DateTime.UtcNow,
            targets = results.Select(r => new
            {
                name = r.Target,
                url = options.Targets.FirstOrDefault(t => t.Name == r.Target)?.Url,
                metrics = r.Metrics.ToDictionary(m => m.Key, m => double.IsFinite(m.Value) ? (double?)Math.Round(m.Value, 3) : null),
                notes = r.Notes,
            }),
        }, new JsonSerializerOptions { WriteIndented = true });

    private static string Format(double value) =>
        double.IsNaN(value) ? "-" :
        Math.Abs(value) >= 1000 || value == Math.Floor(value) ? value.ToString("N0", CultureInfo.InvariantCulture) :
        Math.Abs(value) >= 10 ? value.ToString("0.0", CultureInfo.InvariantCulture) :
        value.ToString("0.00", CultureInfo.InvariantCulture);
}
