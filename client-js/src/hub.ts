import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import type { IHubProtocol, ILogger } from '@microsoft/signalr';
import { RealtimeError } from './errors.js';
import type { Connection, ConnectionHandlers, Connector } from './transport.js';
import { SERVER_MESSAGES } from './transport.js';
import type { Logger, TransportName } from './types.js';

export const HUB_PATH = '/hubs/notifications';

export type HubTransportName = Exclude<TransportName, 'sse'>;
export type HubProtocolName = 'json' | 'msgpack';

/** The parts of @microsoft/signalr's HubConnection the client uses (tests pass fakes). */
export interface HubConnectionLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  invoke<T = unknown>(methodName: string, ...args: unknown[]): Promise<T>;
  on(methodName: string, handler: (...args: unknown[]) => void): void;
  onclose(callback: (error?: Error) => void): void;
}

export interface HubConnectionFactoryOptions {
  url: string;
  transport: HubTransportName;
  protocol: HubProtocolName;
  /** Returns the token the client fetched for this attempt. */
  accessTokenFactory: () => string;
  logger: Logger;
}

export type HubConnectionFactory = (options: HubConnectionFactoryOptions) => HubConnectionLike | Promise<HubConnectionLike>;

const transportTypes: Record<HubTransportName, HttpTransportType> = {
  websockets: HttpTransportType.WebSockets,
  serversentevents: HttpTransportType.ServerSentEvents,
  longpolling: HttpTransportType.LongPolling,
};

/** Builds a real @microsoft/signalr connection, without its automatic reconnect (the client runs its own). */
export const defaultHubConnectionFactory: HubConnectionFactory = async (options) => {
  let builder = new HubConnectionBuilder()
    .withUrl(options.url, { transport: transportTypes[options.transport], accessTokenFactory: options.accessTokenFactory })
    .configureLogging(signalRLogger(options.logger));
  if (options.protocol === 'msgpack') builder = builder.withHubProtocol(await messagePackProtocol());
  return builder.build();
};

async function messagePackProtocol(): Promise<IHubProtocol> {
  // Optional peer dependency, loaded only when asked for (a variable keeps bundlers from requiring it).
  const name = '@microsoft/signalr-protocol-msgpack';
  let module: { MessagePackHubProtocol: new () => IHubProtocol };
  try {
    module = await import(/* webpackIgnore: true */ /* @vite-ignore */ name);
  } catch (error) {
    throw new RealtimeError(`protocol 'msgpack' needs the package ${name}: npm install ${name}`, { cause: error });
  }
  return new module.MessagePackHubProtocol();
}

/** SignalR's log lines go to the client's logger (its own errors are reported as warnings: the client retries). */
function signalRLogger(logger: Logger): ILogger {
  return {
    log(level: LogLevel, message: string) {
      if (level >= LogLevel.Warning) logger.warn?.(`[signalr] ${message}`);
      else if (level >= LogLevel.Information) logger.debug?.(`[signalr] ${message}`);
    },
  };
}

/**
 * Whether the hub could not even negotiate because the server is down, starting or failing
 * (not because a transport was refused on the way): then the other transports would fail the
 * same way, or connect to a server that is still starting up, so the round ends there.
 * A 404 (no hub there, or a proxy that does not route it) still lets the others be tried.
 */
export function isServerUnavailable(error: unknown): boolean {
  const e = error as { errorType?: string; message?: string } | null;
  return e?.errorType === 'FailedToNegotiateWithServerError' && !/Status code '404'/.test(e.message ?? '');
}

/** Whether the server refused the hub protocol in the handshake (it does not offer MessagePack). */
export function isProtocolRefused(error: unknown): boolean {
  return error instanceof Error && /protocol/i.test(error.message) && /not supported|not available|unsupported/i.test(error.message);
}

/** A connector for the hub over one SignalR transport: start, then Resume(afterId) at once. */
export function hubConnector(options: {
  baseUrl: string;
  transport: HubTransportName;
  protocol: () => HubProtocolName;
  onProtocolRefused: () => void;
  factory: HubConnectionFactory;
  logger: Logger;
}): Connector {
  return async (token: string, afterId: number, handlers: ConnectionHandlers): Promise<Connection> => {
    const protocol = options.protocol();
    const hub = await options.factory({
      url: `${options.baseUrl}${HUB_PATH}`,
      transport: options.transport,
      protocol,
      accessTokenFactory: () => token,
      logger: options.logger,
    });
    let open = false;
    let ended = false;
    for (const type of SERVER_MESSAGES) {
      hub.on(type, (payload: unknown) => {
        if (!ended) handlers.message(type, payload);
      });
    }
    hub.onclose((error) => {
      if (ended) return;
      ended = true;
      if (open) handlers.closed(error ?? new RealtimeError('the hub connection closed'));
    });
    try {
      await hub.start();
    } catch (error) {
      ended = true;
      if (protocol === 'msgpack' && isProtocolRefused(error)) options.onProtocolRefused();
      throw error;
    }
    try {
      await hub.invoke<number>('Resume', afterId);
    } catch (error) {
      ended = true;
      await hub.stop().catch(() => {});
      throw error;
    }
    if (ended) throw new RealtimeError('the hub connection closed while resuming');
    open = true;
    return {
      transport: options.transport,
      async close() {
        ended = true;
        await hub.stop().catch(() => {});
      },
    };
  };
}
