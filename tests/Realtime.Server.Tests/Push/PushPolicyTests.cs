using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Realtime.Server.Contracts;
using Realtime.Server.Notifications;
using Realtime.Server.Push;

namespace Realtime.Server.Tests.Push;

public sealed class PushPolicyTests
{
    private static readonly DateTime Now = new(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void BackoffDoublesWithJitterAndHonoursALongerRetryAfter()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), PushRetryPolicy.Delay(1, null, 0));
        Assert.Equal(TimeSpan.FromSeconds(1.25), PushRetryPolicy.Delay(1, null, 1));
        Assert.Equal(TimeSpan.FromSeconds(8), PushRetryPolicy.Delay(4, null, 0));
        Assert.Equal(TimeSpan.FromSeconds(30), PushRetryPolicy.Delay(1, TimeSpan.FromSeconds(30), 0.5));
        Assert.Equal(TimeSpan.FromSeconds(8), PushRetryPolicy.Delay(4, TimeSpan.FromSeconds(1), 0));
        Assert.Equal(PushRetryPolicy.MaxDelay, PushRetryPolicy.Delay(40, null, 0));
        Assert.Equal(PushRetryPolicy.MaxRetryAfter, PushRetryPolicy.Delay(1, TimeSpan.FromDays(365), 0));
    }

    [Fact]
    public void ARetryPastTheExpiryGivesUp()
    {
        var retry = PushRetryPolicy.Retry(1, TimeSpan.FromSeconds(1), Now, Now.AddMinutes(1), 429, "throttled", reduced: false, random: 0);
        Assert.Equal(PushJobState.Queued, retry.State);
        Assert.Equal(Now.AddSeconds(1), retry.RetryAt);
        var giveUp = PushRetryPolicy.Retry(1, TimeSpan.FromSeconds(120), Now, Now.AddMinutes(1), 429, "throttled", reduced: false, random: 0);
        Assert.Equal(PushJobState.Expired, giveUp.State);
        Assert.Equal(429, giveUp.Status);
    }

    [Theory]
    [InlineData(201, "sent")]
    [InlineData(202, "sent")]
    [InlineData(404, "gone")]
    [InlineData(410, "gone")]
    [InlineData(413, "queued")]
    [InlineData(429, "queued")]
    [InlineData(500, "queued")]
    [InlineData(503, "queued")]
    [InlineData(400, "failed")]
    [InlineData(401, "failed")]
    [InlineData(403, "failed")]
    [InlineData(301, "failed")]
    public void EachAnswerOfThePushServiceLeadsToItsState(int status, string state)
    {
        var job = new ClaimedJob { ExpiresAt = Now.AddHours(1) };
        var outcome = Realtime.Server.Push.PushWorker.Classify(job, new PushResponse(status, null, $"answered {status}"), reduced: false, Now, random: 0);
        Assert.Equal(state, outcome.State);
        Assert.Equal(status == 413, outcome.Reduced);
    }

    [Fact]
    public void ASecond413FailsAndTimeoutsAreRetried()
    {
        var job = new ClaimedJob { ExpiresAt = Now.AddHours(1), Reduced = true, Attempts = 1 };
        Assert.Equal(PushJobState.Failed, Realtime.Server.Push.PushWorker.Classify(job, new PushResponse(413, null, "too large"), reduced: true, Now).State);
        var timeout = Realtime.Server.Push.PushWorker.Classify(job, new PushResponse(null, null, "timed out", TimedOut: true), reduced: true, Now, random: 0);
        Assert.Equal(PushJobState.Queued, timeout.State);
        Assert.Equal(Now.AddSeconds(2), timeout.RetryAt);
        Assert.Equal(PushJobState.Failed, Realtime.Server.Push.PushWorker.Classify(job, new PushResponse(null, null, "no", Refused: true), reduced: false, Now).State);
    }

    [Fact]
    public void ASmallNotificationIsSentWholeAndALargeOneReducedToFitOneRecord()
    {
        var small = Notification("Hi", "short", null);
        var (whole, reduced) = PushPayload.Build(small, reduced: false);
        Assert.False(reduced);
        Assert.Equal(JsonSerializer.Serialize(small, RealtimeJsonContext.Default.Notification), whole);

        var large = Notification("Big", string.Concat(Enumerable.Repeat("ä👍", 2000)), "{\"blob\":\"" + new string('x', 16_000) + "\"}");
        var (json, wasReduced) = PushPayload.Build(large, reduced: false);
        Assert.True(wasReduced);
        Assert.InRange(Encoding.UTF8.GetByteCount(json), 3000, PushPayload.MaxPlaintextBytes);
        using var document = JsonDocument.Parse(json);
        var body = document.RootElement.GetProperty("body").GetString()!;
        Assert.EndsWith("…", body);
        Assert.StartsWith(body[..^1], large.Body);
        Assert.False(char.IsHighSurrogate(body[^2]));
        Assert.Equal(large.Id, document.RootElement.GetProperty("id").GetInt64());
        Assert.Equal("Big", document.RootElement.GetProperty("title").GetString());
        Assert.Equal("general", document.RootElement.GetProperty("category").GetString());
        Assert.False(document.RootElement.TryGetProperty("data", out _));

        var forced = PushPayload.Build(small, reduced: true);
        Assert.True(forced.Reduced);
        Assert.Contains("\"reduced\":true", forced.Json);
    }

    [Fact]
    public void ALinkTooLongForOnePushIsDroppedFromTheReducedObject()
    {
        // 2,000 non-ASCII characters: a valid link, but escaped in JSON it is about 12 KB.
        var notification = Notification("Link", "body", null) with { Link = "https://shop.example/" + new string('é', 2_000) };
        var (json, reduced) = PushPayload.Build(notification, reduced: false);
        Assert.True(reduced);
        Assert.True(Encoding.UTF8.GetByteCount(json) <= PushPayload.MaxPlaintextBytes);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("link").ValueKind);
        Assert.Equal("body", document.RootElement.GetProperty("body").GetString());
    }

    [Fact]
    public void P256dhMustBeAnUncompressedPointOnTheCurve()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        byte[] point = [4, .. q.X!, .. q.Y!];
        Assert.Null(SubscriptionRequest.CheckP256dh(Base64Url.Encode(point)));
        Assert.Null(SubscriptionRequest.CheckP256dh(Base64Url.Encode(point) + "="));

        var offCurve = point.ToArray();
        offCurve[64] ^= 1;
        Assert.NotNull(SubscriptionRequest.CheckP256dh(Base64Url.Encode(offCurve)));
        Assert.NotNull(SubscriptionRequest.CheckP256dh(Base64Url.Encode(point[..33])));
        Assert.NotNull(SubscriptionRequest.CheckP256dh(Base64Url.Encode(new byte[65])));
        Assert.NotNull(SubscriptionRequest.CheckP256dh("not+base64/url"));
    }

    [Fact]
    public void AConfiguredVapidPairMustMatch()
    {
        var pair = VapidKeys.Generate();
        Assert.Null(VapidKeys.Check(pair.PublicKey, pair.PrivateKey));
        var other = VapidKeys.Generate();
        Assert.Contains("does not belong", VapidKeys.Check(other.PublicKey, pair.PrivateKey));
        Assert.NotNull(VapidKeys.Check("short", pair.PrivateKey));
        Assert.NotNull(VapidKeys.Check(pair.PublicKey, "short"));

        var options = new PushOptions { PublicKey = other.PublicKey, PrivateKey = pair.PrivateKey };
        Assert.NotEmpty(options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)));
        var half = new PushOptions { PublicKey = pair.PublicKey };
        Assert.NotEmpty(half.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(half)));
        var badSubject = new PushOptions { Subject = "http://example.com" };
        Assert.NotEmpty(badSubject.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(badSubject)));
        var fine = new PushOptions { PublicKey = pair.PublicKey, PrivateKey = pair.PrivateKey, Subject = "https://example.com/contact" };
        Assert.Empty(fine.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(fine)));
    }

    [Theory]
    [InlineData("low", "low")]
    [InlineData("normal", null)]
    [InlineData("high", "high")]
    [InlineData("urgent", "high")]
    public void UrgencyFollowsPriorityAndNormalSendsNoHeader(string priority, string? urgency) =>
        Assert.Equal(urgency, PushSender.UrgencyOf(priority));

    private static Notification Notification(string title, string? body, string? data) =>
        new(42, "alice", "general", title, body, data is null ? null : RawJson.FromText(data), "https://shop.example/orders/1", "normal",
            false, Now, null, null, null);
}
