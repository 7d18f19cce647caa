using Realtime.Server.Contracts;

namespace Realtime.Server.Tests.Notifications;

public sealed class NotificationPriorityTests
{
    [Theory]
    [InlineData("low", "low")]
    [InlineData("normal", "normal")]
    [InlineData("high", "high")]
    [InlineData("urgent", "urgent")]
    [InlineData("LOW", "low")]
    [InlineData("Normal", "normal")]
    [InlineData("HIGH", "high")]
    [InlineData("uRGENT", "urgent")]
    public void AKnownPriorityInAnyCaseNormalizesToItsLowercaseName(string value, string expected) =>
        Assert.Equal(expected, NotificationPriority.Normalize(value));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("critical")]
    [InlineData("hi")]
    [InlineData("highest")]
    [InlineData(" high")]
    [InlineData("high\n")]
    [InlineData("0")]
    public void AnUnknownPriorityNormalizesToNull(string value) =>
        Assert.Null(NotificationPriority.Normalize(value));
}
