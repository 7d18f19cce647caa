namespace Realtime.LoadTest.Measurement;

/// <summary>The figures of one scenario against one target, in the order they were added.</summary>
internal sealed class ScenarioResult(string scenario, string target)
{
    public string Scenario { get; } = scenario;

    public string Target { get; } = target;

    public List<KeyValuePair<string, double>> Metrics { get; } = [];

    public List<string> Notes { get; } = [];

    public double this[string name] => Metrics.First(m => m.Key == name).Value;

    public bool Has(string name) => Metrics.Any(m => m.Key == name);

    public void Add(string name, double value)
    {
        var index = Metrics.FindIndex(m => m.Key == name);
        if (index >= 0)
        {
            Metrics[index] = new(name, value);
        }
        else
        {
            Metrics.Add(new(name, value));
        }
    }

    public void Note(string note)
    {
        if (!Notes.Contains(note))
        {
            Notes.Add(note);
        }
    }
}
