// Starts the real Realtime server (the Release build) as a child process against a fresh
// PostgreSQL database, single node (no Redis), and mints the HS256 tokens it accepts.
//
//   const server = await startServer();   // creates database e2e_<random>, starts, waits for ready
//   const server = await startServer({ env: { Push__AllowInsecureEndpoints: 'true' } }); // extra variables
//   (test files call useServer() from helpers.mjs instead: it does this in a before hook)
//   await server.stop();                  // SIGTERM, waits for the exit
//   await server.start();                 // again, same port and database
//   await server.dispose();               // stops and drops the database
//
// Environment: ConnectionStrings__Postgres (admin connection string, Npgsql format), and the
// server built with `dotnet build src/Realtime.Server -c Release`.
import { spawn, execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const serverDll = path.join(repoRoot, 'src', 'Realtime.Server', 'bin', 'Release', 'net10.0', 'Realtime.Server.dll');

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Parses an Npgsql connection string ("Key=Value;...") into a Map with lower-case keys. */
export function parseConnectionString(text) {
  const map = new Map();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    map.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return map;
}

function adminConnection() {
  const text = process.env.ConnectionStrings__Postgres;
  if (!text) {
    throw new Error('ConnectionStrings__Postgres is not set (the admin connection string of a PostgreSQL server)');
  }
  const map = parseConnectionString(text);
  return {
    text,
    host: map.get('host') ?? map.get('server') ?? '127.0.0.1',
    port: map.get('port') ?? '5432',
    user: map.get('username') ?? map.get('user id') ?? map.get('userid') ?? map.get('user') ?? 'postgres',
    password: map.get('password'),
    database: map.get('database') ?? map.get('db') ?? 'postgres',
  };
}

async function psql(admin, sql) {
  const env = { ...process.env };
  if (admin.password) env.PGPASSWORD = admin.password;
  await execFileAsync(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', admin.host, '-p', admin.port, '-U', admin.user, '-d', admin.database, '-c', sql],
    { env, timeout: 30_000 },
  );
}

/** The connection string of `database` on the admin's server: the admin string with Database replaced. */
function withDatabase(text, database) {
  const parts = text.split(';').filter((p) => p.trim() && !/^\s*(database|db)\s*=/i.test(p));
  parts.push(`Database=${database}`);
  return parts.join(';');
}

/** A TCP port below the ephemeral range (so an outgoing connection cannot take it while the server restarts). */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free TCP port found');
}

function randomText(length) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let text = '';
  for (const b of bytes) text += alphabet[b % alphabet.length];
  return text;
}

const base64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT over `claims` (sub, iss, aud, iat, nbf, exp filled in unless given). */
export function mintToken(signingKey, claims) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: 'e2e', aud: 'realtime', iat: now, nbf: now - 5, exp: now + 3600, ...claims };
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  const signature = createHmac('sha256', Buffer.from(signingKey, 'utf8')).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

export class RealtimeServer {
  /** `env`: extra environment variables for the server process. */
  constructor({ env = {} } = {}) {
    this.extraEnv = env;
    this.process = null;
    this.log = [];
  }

  /** Creates a fresh database e2e_<random>, starts the server on a free port and waits until it is ready. */
  async create() {
    const admin = adminConnection();
    this.database = `e2e_${randomText(12).toLowerCase()}`;
    await psql(admin, `CREATE DATABASE "${this.database}"`);
    this.port = await freePort();
    this.connectionString = withDatabase(admin.text, this.database);
    this.signingKey = randomText(48);
    this.url = `http://127.0.0.1:${this.port}`;
    try {
      await this.start();
    } catch (err) {
      await this.dispose();
      throw err;
    }
    return this;
  }

  /** Starts the process and waits (at most 30 s) for GET /health/ready to answer 200. */
  async start() {
    if (this.process) throw new Error('the server is already running');
    if (!existsSync(serverDll)) {
      throw new Error(`${serverDll} not found: build it first (dotnet build src/Realtime.Server -c Release)`);
    }
    const env = {
      ...process.env,
      ASPNETCORE_URLS: this.url,
      ASPNETCORE_ENVIRONMENT: 'Production',
      DOTNET_NOLOGO: '1',
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      ConnectionStrings__Postgres: this.connectionString,
      Auth__SigningKey: this.signingKey,
      Auth__Issuer: 'e2e',
      Auth__Audience: 'realtime',
      RateLimits__SendsPerSecond: '0',
      RateLimits__UserRequestsPerSecond: '0',
      RateLimits__HubInvocationsPerSecond: '0',
      RateLimits__AnonymousRequestsPerSecond: '0',
      ...this.extraEnv,
    };
    delete env.ConnectionStrings__Redis; // single node, in-process bus
    delete env.Auth__Authority;

    const child = spawn('dotnet', [serverDll], { cwd: path.dirname(serverDll), env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    const keep = (chunk) => {
      this.log.push(chunk.toString());
      if (this.log.length > 400) this.log.splice(0, this.log.length - 400);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.once('error', (err) => keep(`spawn error: ${err.message}\n`));
    // Never leave a server behind if this test process ends abruptly.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.exited.then(() => process.removeListener('exit', killOnExit));

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.process = null;
        throw new Error(`the server exited during start-up (${child.exitCode ?? child.signalCode}):\n${this.tail()}`);
      }
      try {
        const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
        last = `${response.status} ${await response.text()}`;
        if (response.status === 200) return this;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.stop();
    throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s (last: ${last}):\n${this.tail()}`);
  }

  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). */
  async stop() {
    const child = this.process;
    if (!child) return;
    this.process = null;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await child.exited;
      clearTimeout(timer);
    }
  }

  /** Stops the server and drops its database. */
  async dispose() {
    await this.stop();
    if (this.database) {
      await psql(adminConnection(), `DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`).catch(() => {});
    }
  }

  tail(lines = 60) {
    return this.log.join('').split('\n').slice(-lines).join('\n');
  }

  /** A token for user `sub`; `claims` adds or overrides claims (scope, role, exp, ...). */
  token(sub, claims = {}) {
    return mintToken(this.signingKey, { sub, ...claims });
  }

  serviceToken(sub = 'e2e-service') {
    return this.token(sub, { scope: 'notifications:send' });
  }

  adminToken(sub = 'e2e-admin') {
    return this.token(sub, { role: 'admin' });
  }

  /** fetch() against the server with a bearer token and a JSON body; returns { status, headers, body }. */
  async request(method, pathAndQuery, { token, body } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.url}${pathAndQuery}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  /** POST /api/notifications as a backend service; returns the created { id, userId } list (asserts 201). */
  async send(request) {
    const answer = await this.request('POST', '/api/notifications', { token: this.serviceToken(), body: request });
    if (answer.status !== 201) {
      throw new Error(`POST /api/notifications answered ${answer.status}: ${answer.text}`);
    }
    return answer.body.notifications;
  }

  /** POST /api/broadcasts as an admin; returns the id (asserts 201). */
  async broadcast(request) {
    const answer = await this.request('POST', '/api/broadcasts', { token: this.adminToken(), body: request });
    if (answer.status !== 201) {
      throw new Error(`POST /api/broadcasts answered ${answer.status}: ${answer.text}`);
    }
    return answer.body.id;
  }
}

/** Creates a fresh database e2e_<random>, starts the server on a free port and waits until it is ready. */
export function startServer({ env } = {}) {
  return new RealtimeServer({ env }).create();
}
