import type { WorkerStatus } from '../ipc/protocol.ts';
import type { WorkerHandle } from '../ipc/worker-handle.ts';
import { treesStats } from './process-stats.ts';
import type { BrowserInfo, BrowserLease, BrowserListing, DashboardRow, DashboardView, SessionInfo, SessionRecord } from './session-types.ts';

// What /sessions, /browsers and the dashboard show of the supervisor's sessions and browsers:
// read-only, built fresh for each request from the supervisor's own maps and each worker's status.

/** What the views read. */
export interface ViewSource {
  sessions: ReadonlyMap<string, SessionRecord>;
  leases: ReadonlyMap<string, BrowserLease>;
  statusOf(worker: WorkerHandle): Promise<WorkerStatus>;
  isOwn(lease: BrowserLease): boolean;
  capacity(): DashboardView['capacity'];
}

/** What /sessions shows: the sessions of `owner` (a token fingerprint), or every session. */
export async function sessionsView(source: ViewSource, filter: { owner?: string }): Promise<SessionInfo[]> {
  const records = [...source.sessions.values()].filter((record) => filter.owner === undefined || record.owner === filter.owner);
  const stats = await treesStats(records.flatMap((record) => (record.browser ? [record.browser.worker.pid] : [])));
  return Promise.all(records.map(async (record) => ({
    id: record.id,
    clientName: record.clientName,
    createdAt: new Date(record.createdAt).toISOString(),
    lastActivityAt: new Date(record.lastActivityAt).toISOString(),
    inFlight: record.inFlight,
    browser: record.browser ? await describe(source, record.browser, stats.get(record.browser.worker.pid)?.rssBytes ?? 0) : null,
  })));
}

/** What /browsers shows: every browser of `owner` (a token fingerprint), or every browser. */
export async function browsersView(source: ViewSource, filter: { owner?: string }): Promise<BrowserListing[]> {
  const now = Date.now();
  const leases = [...source.leases.values()].filter((lease) => filter.owner === undefined || lease.owner === filter.owner);
  return Promise.all(leases.map(async (lease) => ({
    ...await listed(source, lease),
    own: source.isOwn(lease),
    workerPid: lease.worker.pid,
    createdAt: new Date(lease.createdAt).toISOString(),
    idleMs: now - lease.lastActivityAt,
  })));
}

/** What the dashboard shows: capacity and every browser held for a client, with its page and memory, oldest first. */
export async function dashboardView(source: ViewSource): Promise<DashboardView> {
  const now = Date.now();
  const leases = [...source.leases.values()];
  const stats = await treesStats(leases.map((lease) => lease.worker.pid));
  const browsers = await Promise.all(leases.map(async (lease): Promise<DashboardRow> => {
    const session = lease.sessionId ? source.sessions.get(lease.sessionId) : undefined;
    return {
      id: lease.id,
      ...await listed(source, lease),
      clientName: session?.clientName ?? null,
      ageMs: now - lease.createdAt,
      idleMs: lease.inFlight > 0 ? 0 : now - lease.lastActivityAt,
      tool: lease.tool ?? null,
      rssBytes: stats.get(lease.worker.pid)?.rssBytes ?? 0,
      annotationSince: lease.annotation?.since ?? null,
    };
  }));
  return { capacity: source.capacity(), browsers: browsers.sort((a, b) => b.ageMs - a.ageMs) };
}

/** What both /browsers and the dashboard say of a browser: whose it is and what it shows. */
async function listed(source: ViewSource, lease: BrowserLease): Promise<Pick<BrowserListing, 'handlePrefix' | 'token' | 'sessionId' | 'url' | 'title' | 'pages'>> {
  const status = await source.statusOf(lease.worker);
  return {
    handlePrefix: lease.handle.slice(0, 8),
    token: lease.owner?.slice(0, 8) ?? null,
    sessionId: lease.sessionId ?? null,
    url: status.url,
    title: status.title,
    pages: status.pages,
  };
}

/** A session's browser as /sessions shows it, worker and memory included. */
async function describe(source: ViewSource, lease: BrowserLease, rssBytes: number): Promise<BrowserInfo> {
  const worker = lease.worker;
  const status = await source.statusOf(worker);
  return {
    id: lease.id,
    workerPid: worker.pid,
    ...(worker.browserEndpoint && { endpoint: worker.browserEndpoint }),
    ...status,
    uses: worker.uses,
    createdAt: new Date(lease.createdAt).toISOString(),
    lastActivityAt: new Date(lease.lastActivityAt).toISOString(),
    rssBytes,
  };
}
