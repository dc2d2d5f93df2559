import type { ConfigInput } from '../../src/config.ts';
import { connectClient, type TestClient } from './client.ts';
import { startPageServer, type PageServer } from './pages.ts';
import { startTestServer, type TestServer } from './server.ts';

/** What most end-to-end suites run against: local pages, a real server, one MCP client. */
export interface SessionFixture {
  pages: PageServer;
  server: TestServer;
  client: TestClient;
}

/** Starts a page server (`routes` adds its pages), a server with `config` and one client of it. */
export async function openSession(config: ConfigInput, routes: (pages: PageServer) => void = () => {}): Promise<SessionFixture> {
  const pages = await startPageServer();
  routes(pages);
  const server = await startTestServer(config);
  const client = await connectClient(server.url);
  return { pages, server, client };
}

/** Closes what `openSession` started, client first; parts a failed `before` never set are skipped. */
export async function closeSession(fixture: Partial<SessionFixture>): Promise<void> {
  await fixture.client?.close();
  await fixture.server?.close();
  await fixture.pages?.close();
}
