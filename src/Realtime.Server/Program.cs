using Realtime.Server.Auth;
using Realtime.Server.Broadcasts;
using Realtime.Server.Bus;
using Realtime.Server.Demo;
using Realtime.Server.Live;
using Realtime.Server.Notifications;
using Realtime.Server.Observability;
using Realtime.Server.Operations;
using Realtime.Server.Preferences;
using Realtime.Server.Presence;
using Realtime.Server.Push;
using Realtime.Server.Storage;
using Realtime.Server.Templates;

var builder = WebApplication.CreateBuilder(args);

builder.AddOperations();
builder.AddObservability();
builder.AddStorage();
builder.AddAuth();
builder.AddBus();
builder.AddLive();
builder.AddPresence();
builder.AddPreferences();
builder.AddNotifications();
builder.AddPush();
builder.AddTemplates();
builder.AddDemo();

var app = builder.Build();

// Who listens to whom, before anything starts.
app.SubscribeLiveToBus();
app.RecordConnections();
app.SubscribeTemplatesToBus();

app.UseOperations();
app.UseAuthentication();
app.UseQueryAccessTokenRelease();
app.UseHubConnectionOwnership();
app.UseAuthorization();
app.UseRateLimits();

app.MapOperationsApi();
app.MapObservability();
app.MapNotificationsApi();
app.MapBroadcastsApi();
app.MapPresenceApi();
app.MapPushApi();
app.MapPreferencesApi();
app.MapTemplatesApi();
app.MapLive();
app.MapDemo();

app.Run();

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
