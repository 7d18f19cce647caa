using System.Text.Json;
using System.Text.Json.Serialization;
using Realtime.Server.Broadcasts;
using Realtime.Server.Contracts;
using Realtime.Server.Live;
using Realtime.Server.Notifications;
using Realtime.Server.Operations;
using Realtime.Server.Preferences;
using Realtime.Server.Presence;
using Realtime.Server.Push;
using Realtime.Server.Templates;

namespace Realtime.Server;

/// <summary>Every type that crosses the wire, serialized by source-generated code.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(SendRequest))]
[JsonSerializable(typeof(SendResponse))]
[JsonSerializable(typeof(Notification))]
[JsonSerializable(typeof(InboxPage))]
[JsonSerializable(typeof(UnreadCountMessage))]
[JsonSerializable(typeof(ReadAllRequest))]
[JsonSerializable(typeof(UnreadCountResponse))]
[JsonSerializable(typeof(NotificationReadMessage))]
[JsonSerializable(typeof(NotificationDeletedMessage))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(RawJson))]
[JsonSerializable(typeof(BroadcastResponse))]
[JsonSerializable(typeof(PresenceResponse))]
[JsonSerializable(typeof(StatsResponse))]
[JsonSerializable(typeof(ReducedPushPayload))]
[JsonSerializable(typeof(PushSubscriptionResponse))]
[JsonSerializable(typeof(VapidPublicKeyResponse))]
[JsonSerializable(typeof(PreferencesDocument))]
[JsonSerializable(typeof(TemplateDocument))]
[JsonSerializable(typeof(TemplateDefinition))]
[JsonSerializable(typeof(TemplateResponse))]
[JsonSerializable(typeof(TemplateListResponse))]
internal sealed partial class RealtimeJsonContext : JsonSerializerContext;
