import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, resultText } from '../helpers/client.ts';
import { startPageServer, type PageServer } from '../helpers/pages.ts';
import { survivors, waitUntil, watchTree } from '../helpers/processes.ts';
import { startTestServer } from '../helpers/server.ts';

const CLI = fileURLToPath(new URL('../../bin/browser-fleet.js', import.meta.url));

type Exit = { code: number | null; signal: NodeJS.Signals | null };

let pages: PageServer;
let outputDir: string;
/** Processes this file started, killed by PID in afterEach if a test left one running. */
const started: ChildProcess[] = [];
let hangRequested: () => void = () => {};

before(async () => {
  pages = await startPageServer();
  pages.route('/', '<!doctype html><title>Stdio page</title><p>hello over a pipe</p>');
  // Never answers: a navigation to it is a call in flight until the server gives up on it.
  pages.route('/hang', () => hangRequested());
});
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (outputDir) rmSync(outputDir, { recursive: true, force: true });
});
after(async () => {
  await pages?.close();
});

function freshOutputDir(): string {
  return outputDir = mkdtempSync(join(tmpdir(), 'bf-stdio-'));
}

/** Log lines of a server's stderr; a line that is not JSON is kept as `{ raw }`, so a test can see it. */
function collectLogs(stream: NodeJS.ReadableStream, logs: Record<string, unknown>[]): void {
  createInterface({ input: stream }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ raw: line });
    }
  });
}

/** The CLI in stdio mode spoken to by hand: every stdout line kept, requests matched to answers by id. */
interface RawStdio {
  child: ChildProcess;
  stdoutLines: string[];
  logs: Record<string, unknown>[];
  exited: Promise<Exit>;
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Sends a request and does not wait for its answer. */
  send(method: string, params?: Record<string, unknown>): void;
  notify(method: string, params?: Record<string, unknown>): void;
}

function spawnStdio(args: string[] = []): RawStdio {
  const child = spawn(process.execPath, [CLI, '--stdio', '--output-dir', freshOutputDir(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(child);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stdoutLines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const answers = new Map<number, (message: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdoutLines.push(line);
    try {
      const message = JSON.parse(line) as Record<string, unknown>;
      answers.get(message.id as number)?.(message);
    } catch {
      // kept in stdoutLines, where the JSON-RPC check finds it
    }
  });
  collectLogs(child.stderr!, logs);
  let nextId = 1;
  const write = (message: Record<string, unknown>) => child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  const send = (method: string, params: Record<string, unknown> = {}) => {
    const id = nextId++;
    write({ id, method, params });
    return id;
  };
  return {
    child, stdoutLines, logs, exited,
    request: (method, params) => new Promise((resolve, reject) => {
      answers.set(send(method, params), resolve);
      void exited.then((exit) => reject(new Error(`the server exited (${JSON.stringify(exit)}) before answering ${method}`)));
    }),
    send: (method, params) => void send(method, params),
    notify: (method, params = {}) => void write({ method, params }),
  };
}

async function initialize(server: RawStdio): Promise<void> {
  const answer = await server.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-stdio-test', version: '1' } });
  assert.ok(answer.result, JSON.stringify(answer));
  server.notify('notifications/initialized');
}

/** Whether one of `pids` runs Chromium now (read from /proc by PID, never looked up by name). */
function runsChromium(pids: Iterable<number>): boolean {
  return [...pids].some((pid) => {
    try {
      return /chrom|headless_shell/i.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]);
    } catch {
      return false;
    }
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))])
    .finally(() => clearTimeout(timer));
}

test('a stdio client sees the tools an HTTP client sees, opens a page, and closing it leaves no process behind', async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--stdio', '--output-dir', freshOutputDir()],
    env: process.env as Record<string, string>,
    stderr: 'pipe',
  });
  const logs: Record<string, unknown>[] = [];
  collectLogs(transport.stderr as Readable, logs);
  const client = new Client({ name: 'browser-fleet-stdio-test', version: '1.0.0' });
  await client.connect(transport);
  const tree = watchTree(transport.pid!);
  try {
    const overStdio = await client.listTools();
    const http = await startTestServer();
    const httpClient = await connectClient(http.url);
    try {
      assert.deepEqual(overStdio.tools, (await httpClient.client.listTools()).tools, 'the same tool list as over HTTP');
    } finally {
      await httpClient.close();
      await http.close();
    }

    const result = await client.callTool({ name: 'browser_navigate', arguments: { url: `${pages.url}/` } }) as CallToolResult;
    assert.notEqual(result.isError, true, resultText(result));
    assert.match(resultText(result), /Page Title: Stdio page/);
    assert.ok(runsChromium(tree.seen), 'the worker\'s Chromium is in the server\'s process tree');
  } finally {
    await client.close();
  }
  const seen = tree.stop();
  assert.ok(await waitUntil(() => survivors(seen).length === 0, 15_000), `still alive: ${survivors(seen).join(', ')}`);
  // The client ended our stdin and waited; it sends SIGTERM only to a server that has not exited 2 s later.
  assert.ok(logs.some((l) => l.msg === 'shutting down: no new sessions, waiting for calls in flight' && l.reason === 'stdin ended'),
    'the end of stdin started the shutdown');
  assert.ok(logs.some((l) => l.msg === 'shut down'));
  assert.deepEqual(readdirSync(outputDir), [], 'the browser\'s directory was removed');
});

test('a client that dies with a call in flight (its ends of the pipes gone, no MCP close) leaves no process behind and the server exits 0', async () => {
  const server = spawnStdio(['--shutdown-timeout', '1000']);
  const tree = watchTree(server.child.pid!);
  await initialize(server);
  const opened = await server.request('tools/call', { name: 'browser_navigate', arguments: { url: `${pages.url}/` } });
  assert.match(JSON.stringify(opened.result), /Stdio page/);
  const hung = new Promise<void>((resolve) => (hangRequested = resolve));
  server.send('tools/call', { name: 'browser_navigate', arguments: { url: `${pages.url}/hang` } });
  await within(hung, 10_000, 'the browser asked for the page that never answers');
  assert.ok(runsChromium(tree.seen), 'the worker\'s Chromium is in the server\'s process tree');

  // What a client's death does to the pipes: its ends of our stdin, stdout and stderr close. The
  // hung call's answer then meets a broken stdout (EPIPE), and the log lines a broken stderr.
  server.child.stdin!.destroy();
  server.child.stdout!.destroy();
  server.child.stderr!.destroy();
  assert.deepEqual(await within(server.exited, 15_000, 'the server exited'), { code: 0, signal: null }, 'a clean shutdown, not a crash on EPIPE');
  const seen = tree.stop();
  assert.ok(await waitUntil(() => survivors(seen).length === 0, 15_000), `still alive: ${survivors(seen).join(', ')}`);
  assert.deepEqual(readdirSync(outputDir), [], 'the browser\'s directory was removed');
});

test('stdout carries JSON-RPC messages and nothing else, even at --log-level debug; the logs go to stderr', async () => {
  const server = spawnStdio(['--log-level', 'debug']);
  await initialize(server);
  const listed = await server.request('tools/list');
  assert.ok(Array.isArray((listed.result as { tools: unknown[] }).tools));
  const navigated = await server.request('tools/call', { name: 'browser_navigate', arguments: { url: `${pages.url}/` } });
  assert.match(JSON.stringify(navigated.result), /Stdio page/);
  const invalid = await server.request('tools/call', { name: 'browser_navigate', arguments: { url: 42 } });
  assert.equal((invalid.result as CallToolResult).isError, true, 'a bad argument is a tool error, not noise on stdout');
  server.child.stdin!.end();
  assert.deepEqual(await within(server.exited, 15_000, 'the server exited after stdin ended'), { code: 0, signal: null });

  assert.equal(server.stdoutLines.length, 4, `one line per answer:\n${server.stdoutLines.join('\n')}`);
  for (const line of server.stdoutLines) {
    const message = JSON.parse(line) as Record<string, unknown>;
    assert.equal(message.jsonrpc, '2.0', line);
    assert.ok('result' in message || 'error' in message || 'method' in message, line);
  }
  assert.ok(server.logs.length > 0 && server.logs.every((l) => !('raw' in l)), 'stderr holds the JSON log lines');
  for (const msg of ['session opened', 'browser acquired', 'shut down']) {
    assert.ok(server.logs.some((l) => l.msg === msg), `"${msg}" was logged on stderr`);
  }
});
