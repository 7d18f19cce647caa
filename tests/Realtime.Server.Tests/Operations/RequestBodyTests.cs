using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

/// <summary>Which field a System.Text.Json error path names, for the problem response's <c>errors</c>.</summary>
public sealed class RequestBodyTests
{
    [Theory]
    [InlineData("$.title", "title")]
    [InlineData("$.ttlSeconds", "ttlSeconds")]
    [InlineData("$.userIds", "userIds")]
    [InlineData("$.userIds[3]", "userIds")]
    [InlineData("$.data.a.b", "data")]
    [InlineData("$.data.a[0].b", "data")]
    [InlineData("$.data['a.b']", "data")]
    public void AFieldPathNamesItsTopLevelField(string path, string expected) =>
        Assert.Equal(expected, RequestBody.FieldFromPath(path));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("$")]
    [InlineData("$[0]")]
    [InlineData("$['odd key']")]
    [InlineData("title")]
    public void APathThatNamesNoFieldMeansTheWholeRequest(string? path) =>
        Assert.Equal("request", RequestBody.FieldFromPath(path));
}
