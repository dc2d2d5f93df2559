import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { matchToken, tokenDigests } from '../security/tokens.ts';
import type { AppDeps, AppEnv } from './app.ts';
import { downloadRecording } from './admin-routes.ts';
import { isDashboardPath } from './guards.ts';

// The operator's page: capacity and one live row per browser, each with a thumbnail and End, and
// Annotate when a browser_annotate call waits for a person to mark up its page.
// A browser cannot send a bearer header on navigation, so an admin token is exchanged once, on a
// sign-in form, for an HttpOnly, SameSite=Strict cookie naming a dashboard session held here.

const COOKIE = 'bf_dashboard';
/** How long a dashboard sign-in lasts, ms. */
const SIGN_IN_MS = 12 * 60 * 60 * 1000;
/** How often the page hears the state of the fleet, ms. */
const EVENT_INTERVAL_MS = 2000;
/** A thumbnail is taken at most this often per browser, however many watch, ms. */
const THUMBNAIL_MS = 1000;

const ASSETS = {
  'app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./dashboard-assets/app.js', import.meta.url)) },
  'app.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./dashboard-assets/app.css', import.meta.url)) },
};

/** No inline script or style, nothing from elsewhere, never framed. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: under no-referrer a form's POST carries `Origin: null`, which the Origin check refuses.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function page(title: string, body: unknown) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/dashboard/app.css"></head>
<body>${body}</body></html>`;
}

function signInPage(message?: string) {
  return page('browser-fleet: sign in', html`<main class="sign-in">
<h1>browser-fleet</h1>
<form method="post" action="/dashboard/login">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
</main>`);
}

const DASHBOARD_PAGE = page('browser-fleet', html`<header><h1>browser-fleet</h1>
<form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></header>
<section id="capacity" aria-live="polite"></section>
<table id="browsers"><thead><tr><th>Page</th><th>Session</th><th>Client</th><th>Token</th><th>Age</th><th>Idle</th><th>Tool</th><th>URL and title</th><th>Tabs</th><th>Memory (RSS)</th><th></th></tr></thead>
<tbody></tbody></table>
<p id="empty">No browser is in use.</p>
<section id="annotator" hidden aria-label="Annotate a page">
<h2>Annotate <span id="annotator-page"></span></h2>
<p>Drag on the page to draw a box, then write what the agent should know about it.</p>
<div id="annotator-canvas"><img id="annotator-image" alt="the page to annotate" draggable="false"></div>
<ol id="annotator-notes"></ol>
<button type="button" id="annotator-send">Send to the agent</button> <button type="button" id="annotator-cancel">Cancel the request</button>
</section>
<h2>Recent recordings</h2>
<ul id="recordings"></ul>
<script src="/dashboard/app.js"></script>`);

/** Most boxes one answer may hold, and the longest note. */
const MAX_ANNOTATIONS = 50;
const MAX_NOTE = 2000;

/** A person's answer from the dashboard: boxes inside the `width` x `height` screenshot with their notes, or a cancel. */
function annotationAnswer(width: number, height: number) {
  const box = z.object({
    x: z.number().min(0).max(width),
    y: z.number().min(0).max(height),
    width: z.number().positive().max(width),
    height: z.number().positive().max(height),
    text: z.string().max(MAX_NOTE),
  }).strict().refine((b) => b.x + b.width <= width + 1 && b.y + b.height <= height + 1, 'a box must lie inside the screenshot');
  return z.union([
    z.object({ annotations: z.array(box).max(MAX_ANNOTATIONS) }).strict(),
    z.object({ cancelled: z.literal(true) }).strict(),
  ]);
}

/** Dashboard sign-ins: random ids in cookies, never the token itself. */
class SignIns {
  private readonly expiry = new Map<string, number>();

  create(): string {
    const id = randomBytes(32).toString('base64url');
    this.expiry.set(id, Date.now() + SIGN_IN_MS);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const until = this.expiry.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.expiry.delete(id);
    return false;
  }

  end(id: string | undefined): void {
    if (id) this.expiry.delete(id);
  }
}

export function installDashboard(app: Hono<AppEnv>, deps: AppDeps): void {
  const signIns = new SignIns();
  const adminDigests = tokenDigests(deps.config.adminToken);
  const clientDigests = tokenDigests(deps.config.authToken);
  const withTokens = deps.config.authToken.length > 0;
  const thumbnails = new Map<string, { at: number; jpeg: Promise<Buffer | undefined> }>();
  /** Without tokens the server is loopback-only and open, as the admin API is; with tokens, an admin's cookie (or bearer header). */
  const signedIn = (c: Context<AppEnv>) => !withTokens || c.get('admin') === true || signIns.valid(getCookie(c, COOKIE));

  app.use('*', async function dashboardHeaders(c, next) {
    await next();
    if (isDashboardPath(c.req.path)) for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });

  app.get('/dashboard', async function dashboard(c) {
    return c.html(signedIn(c) ? DASHBOARD_PAGE : signInPage());
  });

  app.get('/dashboard/:asset{app\\.(js|css)}', function asset(c) {
    const file = ASSETS[c.req.param('asset') as keyof typeof ASSETS];
    return c.body(file.body, 200, { 'Content-Type': file.type });
  });

  app.post('/dashboard/login', async function login(c) {
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const token = typeof form.token === 'string' ? form.token : '';
    if (!withTokens) return c.redirect('/dashboard', 303);
    if (!token || !matchToken(token, adminDigests)) {
      const known = token !== '' && matchToken(token, clientDigests) !== undefined;
      deps.log.warn({ path: '/dashboard/login', reason: known ? 'not an admin token' : 'unknown token' }, 'dashboard sign-in refused');
      return c.html(signInPage(known ? 'This token may use the server, but only an admin token opens the dashboard.' : 'Unknown token.'), known ? 403 : 401);
    }
    setCookie(c, COOKIE, signIns.create(), { httpOnly: true, sameSite: 'Strict', path: '/dashboard', maxAge: SIGN_IN_MS / 1000, secure: c.req.url.startsWith('https:') });
    return c.redirect('/dashboard', 303);
  });

  app.post('/dashboard/logout', function logout(c) {
    signIns.end(getCookie(c, COOKIE));
    deleteCookie(c, COOKIE, { path: '/dashboard' });
    return c.redirect('/dashboard', 303);
  });

  app.get('/dashboard/events', function events(c) {
    if (!signedIn(c)) return c.json({ error: 'sign in at /dashboard' }, 401);
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => { open = false; });
      while (open) {
        await stream.writeSSE({ event: 'state', data: JSON.stringify(await deps.supervisor.dashboardView()) });
        await stream.sleep(EVENT_INTERVAL_MS);
      }
    });
  });

  app.get('/dashboard/thumbnail/:id', async function thumbnail(c) {
    if (!signedIn(c)) return c.body(null, 401);
    const id = c.req.param('id');
    let entry = thumbnails.get(id);
    if (!entry || Date.now() - entry.at >= THUMBNAIL_MS) {
      entry = { at: Date.now(), jpeg: deps.supervisor.thumbnail(id) };
      thumbnails.set(id, entry);
      for (const [key, value] of thumbnails) if (Date.now() - value.at > 60_000) thumbnails.delete(key);
    }
    const jpeg = await entry.jpeg;
    return jpeg ? c.body(new Uint8Array(jpeg), 200, { 'Content-Type': 'image/jpeg' }) : c.body(null, 404);
  });

  app.get('/dashboard/recordings', function recordings(c) {
    if (!signedIn(c)) return c.json({ error: 'sign in at /dashboard' }, 401);
    return c.json({ recordings: (deps.supervisor.recordings?.list() ?? []).slice(0, 50).map(({ owner: _owner, ...meta }) => meta) });
  });

  app.get('/dashboard/recordings/:id/:kind{trace|video}', function recording(c) {
    if (!signedIn(c)) return c.body(null, 401);
    return downloadRecording(deps, c.req.param('id'), c.req.param('kind') as 'trace' | 'video', undefined) ?? c.body(null, 404);
  });

  app.get('/dashboard/browsers/:id/annotation', function annotationRequest(c) {
    if (!signedIn(c)) return c.json({ error: 'sign in at /dashboard' }, 401);
    const request = deps.supervisor.annotationRequest(c.req.param('id'));
    if (!request) return c.json({ error: 'no browser_annotate call waits in this browser' }, 404);
    const { url, title, width, height, since } = request;
    return c.json({ url, title, width, height, since });
  });

  app.get('/dashboard/browsers/:id/annotation.png', function annotationImage(c) {
    if (!signedIn(c)) return c.body(null, 401);
    const request = deps.supervisor.annotationRequest(c.req.param('id'));
    return request ? c.body(new Uint8Array(Buffer.from(request.data, 'base64')), 200, { 'Content-Type': 'image/png' }) : c.body(null, 404);
  });

  app.post('/dashboard/browsers/:id/annotation', async function submitAnnotation(c) {
    if (!signedIn(c)) return c.json({ error: 'sign in at /dashboard' }, 401);
    const id = c.req.param('id');
    const request = deps.supervisor.annotationRequest(id);
    if (!request) return c.json({ error: 'no browser_annotate call waits in this browser' }, 404);
    const parsed = annotationAnswer(request.width, request.height).safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: `bad annotations: ${parsed.error.issues[0]?.message ?? 'invalid'}` }, 400);
    const accepted = await deps.supervisor.submitAnnotation(id, parsed.data);
    return accepted ? c.json({ accepted }) : c.json({ error: 'the browser_annotate call ended before the answer came' }, 409);
  });

  app.post('/dashboard/browsers/:id/end', async function endBrowser(c) {
    if (!signedIn(c)) return c.json({ error: 'sign in at /dashboard' }, 401);
    const ended = await deps.supervisor.endBrowserAsAdmin(c.req.param('id'));
    return ended ? c.json({ ended: c.req.param('id') }) : c.json({ error: 'no such browser' }, 404);
  });
}
