// The checks after the fuzzing: a normal session in each era, then a drain.
import { connectClient, resultText } from '../../test/helpers/client.ts';
import { connectModern, modernText } from '../../test/helpers/modern-client.ts';
import { describeReply, sendChecked } from './http.ts';
import { ADMIN, HTTP_TIMEOUT_MS, TOKEN, V1, auth, jsonHeaders, type Target } from './target.ts';

export async function afterwards(target: Target): Promise<string[]> {
  const problems: string[] = [];
  const bound = <T>(what: string, promise: Promise<T>, ms = 60_000): Promise<T> => Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref()),
  ]);
  try {
    const client = await bound('initialize', connectClient(target.base, { token: TOKEN }));
    try {
      const navigated = await bound('navigate', client.call('browser_navigate', { url: `${target.pages.url}/fuzz` }));
      if (navigated.isError) problems.push(`2025-11-25: navigating to a local page failed: ${resultText(navigated)}`);
      const snapshot = await bound('snapshot', client.text('browser_snapshot', {}));
      if (!snapshot.includes('Fuzz page')) problems.push(`2025-11-25: the snapshot lacks the page's heading: ${snapshot.slice(0, 300)}`);
    } finally {
      await bound('DELETE', client.close());
    }
    if (target.server.supervisor.get(client.sessionId)) problems.push('2025-11-25: the session is still open after DELETE');
  } catch (error) {
    problems.push(`2025-11-25: a normal session failed: ${(error as Error).message}`);
  }
  try {
    const modern = await bound('connect', connectModern(target.base, { token: TOKEN }));
    try {
      const browser = await bound('browser_open', modern.open());
      await bound('navigate', modern.call('browser_navigate', { browser, url: `${target.pages.url}/fuzz` }));
      const snapshot = await bound('snapshot', modern.text('browser_snapshot', { browser }));
      if (!snapshot.includes('Fuzz page')) problems.push(`2026-07-28: the snapshot lacks the page's heading: ${snapshot.slice(0, 300)}`);
      const closed = await bound('browser_close', modern.call('browser_close', { browser }));
      if (closed.isError) problems.push(`2026-07-28: browser_close failed: ${modernText(closed)}`);
    } finally {
      await modern.close();
    }
  } catch (error) {
    problems.push(`2026-07-28: a normal stateless browser failed: ${(error as Error).message}`);
  }
  // Drain, the one admin action the fuzz cases leave out: then new sessions get the documented 503.
  try {
    const drained = await sendChecked(target.base, { method: 'POST', path: '/admin/drain', headers: auth(ADMIN) }, HTTP_TIMEOUT_MS);
    if (drained.status !== 200) problems.push(`drain: POST /admin/drain answered ${describeReply(drained)}`);
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V1, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } };
    const refused = await sendChecked(target.base, { method: 'POST', path: '/mcp', headers: { ...jsonHeaders, ...auth() }, body: Buffer.from(JSON.stringify(init)) }, HTTP_TIMEOUT_MS);
    if (refused.status !== 503 || !refused.body.includes('DRAINING')) problems.push(`drain: initialize while draining answered ${describeReply(refused)}`);
  } catch (error) {
    problems.push(`drain: ${(error as Error).message}`);
  }
  return problems;
}
