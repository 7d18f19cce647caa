using System.Net;
using System.Text.Json;

namespace Realtime.IntegrationTests.Send;

/// <summary>Checks RFC 9457 answers: the status, <c>application/problem+json</c>, and per-field <c>errors</c>.</summary>
internal static class ProblemAssert
{
    public const string MediaType = "application/problem+json";

    /// <summary>Asserts <paramref name="status"/> with a problem body that repeats it; returns the body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? because = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status,
            $"Expected {(int)status} {status}{Context(because)}, got {(int)response.StatusCode} {response.StatusCode}: {text}");
        Assert.Equal(MediaType, response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        Assert.Equal((int)status, document.RootElement.GetProperty("status").GetInt32());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Asserts a 400 whose <c>errors</c> name exactly <paramref name="field"/>, with at least one message;
    /// <paramref name="because"/> says what was wrong with the request, for the failure message.
    /// </summary>
    public static async Task IsInvalidAsync(HttpResponseMessage response, string field, string? because = null)
    {
        var context = Context(because);
        var problem = await IsProblemAsync(response, HttpStatusCode.BadRequest, because);
        Assert.True(problem.TryGetProperty("errors", out var errors), $"The problem has no errors{context}: {problem}");
        var fields = errors.EnumerateObject().Select(e => e.Name).ToList();
        Assert.True(fields.SequenceEqual([field]), $"Expected errors for exactly '{field}'{context}, got {errors}");
        Assert.True(errors.GetProperty(field).EnumerateArray().Any(m => !string.IsNullOrWhiteSpace(m.GetString())),
            $"No message for '{field}'{context}: {problem}");
    }

    private static string Context(string? because) => because is null ? "" : $" ({because})";
}
