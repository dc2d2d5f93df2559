// The ops and admin routes property: odd paths, methods, tokens and bodies.
import fc from 'fast-check';
import { sendChecked, type RawRequest } from './http.ts';
import type { Runner } from './run-property.ts';
import { ADMIN, HTTP_TIMEOUT_MS, TOKEN } from './target.ts';
import { encodeOdd } from './tool-arguments.ts';
import { headerText, oddString } from './values.ts';

interface OpsCase {
  method: string;
  path: string;
  token: 'client' | 'admin' | 'none' | 'wrong';
  body: { type: string; bytes: Uint8Array } | undefined;
  chunked: boolean;
}

export function opsCaseArb(): fc.Arbitrary<OpsCase> {
  const idPart = fc.oneof(
    fc.constantFrom('', 'x', '..', '%2e%2e', '%2F..%2F..%2Fetc%2Fpasswd', '%00', '%ZZ', '%', '%E0%A4%A', '..%5c..%5c', '00000000-0000-0000-0000-000000000000', ';', '?', '#', ' ', '%20', 'a'.repeat(5000)),
    oddString.map(encodeOdd),
    headerText.map((text) => text.replace(/[^\x21-\x7e]/g, '')),
  );
  const path = fc.oneof(
    idPart.map((id) => `/sessions/${id}`),
    idPart.map((id) => `/sessions/${id}/${id}`),
    fc.tuple(idPart, fc.constantFrom('trace', 'video', 'Trace', 'trace.zip', '')).map(([id, kind]) => `/sessions/${id}/${kind}`),
    fc.constantFrom('/admin/drain', '/admin/drain/', '/admin/drain?x=1', '/admin', '/admin/', '/admin/../admin/drain', '/ADMIN/DRAIN', '/admin//drain', '/admin/drain%00'),
    fc.constantFrom('/browsers?x', '/browsers?', '/browsers?owner=../../', '/browsers/x', '/browsers?%ZZ', '/sessions?x', '/sessions/', '/sessions//', '/metrics?x', '/readyz/x', '/healthz?x', '/healthz/../sessions'),
    fc.constantFrom('/dashboard', '/dashboard/', '/dashboard/app.js', '/dashboard/app.css', '/dashboard/app.jsx', '/dashboard/app.js/..', '/dashboard/../dashboard/app.css', '/dashboard/%2e%2e/app.js',
      '/dashboard/login', '/dashboard/logout', '/dashboard/events', '/dashboard/recordings', '/dashboard/recordings/', '/dashboard/thumbnail/', '/dashboard/browsers//end'),
    idPart.map((id) => `/dashboard/thumbnail/${id}`),
    fc.tuple(idPart, fc.constantFrom('trace', 'video', 'other')).map(([id, kind]) => `/dashboard/recordings/${id}/${kind}`),
    idPart.map((id) => `/dashboard/browsers/${id}/end`),
    fc.constantFrom('/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/mcp/../sessions', '/mcp/..%2f..%2fetc%2fpasswd', '//sessions', '/./sessions', '/.%2e/sessions', '/\\..\\sessions', '*', '/mcp;x', '/mcp%2f'),
    fc.tuple(fc.constantFrom('/sessions/', '/browsers?q=', '/admin/drain?', '/mcp?', '/dashboard/thumbnail/', '/'), fc.integer({ min: 10, max: 17 })).map(([prefix, power]) => prefix + 'a'.repeat(2 ** power)),
    idPart.map((id) => `/${id}`),
  );
  const form = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
  const body = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.oneof(oddString, fc.constantFrom(TOKEN, ADMIN, '', '%ZZ', '\0')).map((token) => ({ type: 'application/x-www-form-urlencoded', bytes: form(`token=${encodeOdd(token)}`) })), weight: 2 },
    { arbitrary: fc.constantFrom('token=%ZZ', 'token=a&token=b', 'token', '=&=&', 'token=' + 'a'.repeat(100_000)).map((text) => ({ type: 'application/x-www-form-urlencoded', bytes: form(text) })), weight: 1 },
    { arbitrary: fc.constantFrom('--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc\r\n--x--', '--x\r\n\r\n', 'garbage').map((text) => ({ type: 'multipart/form-data; boundary=x', bytes: form(text) })), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: 'application/json', bytes })), weight: 1 },
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'),
    path,
    token: fc.constantFrom('client', 'admin', 'none', 'wrong'),
    body,
    chunked: fc.boolean(),
  });
}

export async function runOpsCase(runner: Runner, c: OpsCase): Promise<string> {
  // A drain with the admin token would end the run early: it is the last step, checked on its own.
  const token = c.token === 'admin' && c.method === 'POST' && /admin/i.test(c.path) ? 'client' : c.token;
  const headers: RawRequest['headers'] = token === 'none' ? {} : { authorization: `Bearer ${token === 'client' ? TOKEN : token === 'admin' ? ADMIN : 'nope'}` };
  const body = c.body && !['GET', 'HEAD'].includes(c.method) ? Buffer.from(c.body.bytes) : undefined;
  if (body) headers['content-type'] = c.body!.type;
  // Ids here are odd ones only, so no case ends the fuzz sessions or browsers by id.
  const reply = await sendChecked(runner.target.base, { method: c.method, path: c.path, headers, body, chunked: c.chunked }, HTTP_TIMEOUT_MS);
  return `HTTP ${reply.status} ${reply.body.slice(0, 160)}`;
}
