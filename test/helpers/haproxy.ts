import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { isAlive, waitUntil } from './processes.ts';

/** The shipped configuration, as users run it. */
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

/** Debian's haproxy on the shipped config, listening on 127.0.0.1; `nodes` are the instances' ports. */
export interface HaproxyInstance {
  url: string;
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export async function startHaproxy(nodes: [number, number]): Promise<HaproxyInstance> {
  const port = await freePort();
  const env = { ...process.env, BF_BIND: `127.0.0.1:${port}`, BF_NODE1: `127.0.0.1:${nodes[0]}`, BF_NODE2: `127.0.0.1:${nodes[1]}` };
  // -db: stay in the foreground, so the process we started is the one that serves and stops.
  const child = spawn('haproxy', ['-db', '-f', HAPROXY_CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const up = await waitUntil(async () => (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)), 10_000);
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`haproxy did not come up: ${output.join('')}`);
  }
  return {
    url,
    process: child,
    output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (!(await waitUntil(() => !isAlive(child.pid!), 5000))) child.kill('SIGKILL');
    },
  };
}
