// Drives a running `tvms serve` through /trpc with the real @trpc/client (httpBatchLink +
// superjson), as the platform's web front end does. Run by tests/trpc/test_client.py.
//
//   TVMS_URL=http://127.0.0.1:8000 node run.mjs [step ...]
//
// Steps (default: all, in this order): query, batch, error, bearer, date.
//   bearer: needs TVMS_EMAIL / TVMS_PASSWORD of an ADMIN user (auth.login, then auth.me).
//   date:   a mutation with a Date input, after `bearer`; TVMS_DATE_MUTATION names which
//           (settings.update by default; reports.generate is known too).
// Exits non-zero on the first mismatch.
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';

const base = process.env.TVMS_URL;
if (!base) {
  console.error('TVMS_URL is not set');
  process.exit(2);
}

let token = null;
const requests = [];

const client = createTRPCClient({
  links: [
    httpBatchLink({
      url: `${base}/trpc`,
      transformer: superjson,
      headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
      fetch: async (url, init) => {
        const response = await fetch(url, init);
        requests.push({ url: String(url), method: init?.method ?? 'GET', status: response.status });
        return response;
      },
    }),
  ],
});

class Mismatch extends Error {}

function expect(condition, what, got) {
  if (!condition) {
    throw new Mismatch(`${what}; got ${JSON.stringify(got)}`);
  }
}

async function rejection(promise) {
  try {
    const value = await promise;
    throw new Mismatch(`expected an error, got ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof Mismatch) throw error;
    expect(error instanceof TRPCClientError, 'the error is a TRPCClientError', String(error));
    return error;
  }
}

function expectError(error, code, httpStatus, path) {
  expect(error.data?.code === code, `error code ${code}`, error.data);
  expect(error.data?.httpStatus === httpStatus, `httpStatus ${httpStatus}`, error.data);
  expect(error.data?.path === path, `error path ${path}`, error.data);
  expect(typeof error.shape?.code === 'number', 'a numeric JSON-RPC code in the shape', error.shape);
  expect(typeof error.message === 'string' && error.message.length > 0, 'a message', error.message);
}

const steps = {
  async query() {
    const license = await client.system.getLicense.query();
    expect(license.type === 'enterprise', 'licence type enterprise', license);
    expect(license.maxUsers === -1 && license.maxSensors === -1, 'unlimited licence', license);
    expect(typeof license.issuedAt === 'string', 'ISO timestamps stay strings', license.issuedAt);
    const zone = await client.system.timezone.getTimezoneSettings.query();
    expect(typeof zone.timezone === 'string' && zone.timezone.includes('/'), 'an IANA zone', zone);
  },

  async batch() {
    requests.length = 0;
    const [license, zone, zones, health, settings] = await Promise.all([
      client.system.getLicense.query(),
      client.system.timezone.getTimezoneSettings.query(),
      client.system.timezone.listTimezones.query(),
      client.system.health.query(),
      client.system.getSettings.query(),
    ]);
    expect(requests.length === 1, 'five queries in ONE request', requests);
    const [request] = requests;
    const url = new URL(request.url);
    expect(request.method === 'GET' && url.searchParams.get('batch') === '1', 'a GET batch', request);
    expect(url.pathname.split(',').length === 5, 'five paths in the URL', url.pathname);
    expect(request.status === 200, 'HTTP 200', request);
    expect(license.valid === true, 'licence valid', license);
    expect(zone.timezone === 'Asia/Almaty', 'default zone', zone);
    expect(Array.isArray(zones.timezones) && zones.timezones.includes('Europe/Berlin'), 'zone list', zones);
    expect(typeof health.status === 'string', 'health status', health);
    expect(Array.isArray(settings) && settings.some((s) => s.key === 'app.name'), 'public settings', settings);
  },

  async error() {
    const missing = await rejection(client.no.suchProcedure.query());
    expectError(missing, 'NOT_FOUND', 404, 'no.suchProcedure');
    expect(missing.shape.code === -32004, 'JSON-RPC code -32004', missing.shape);

    const invalid = await rejection(client.system.timezone.getTimezoneSettings.query({ bogus: 1 }));
    expectError(invalid, 'BAD_REQUEST', 400, 'system.timezone.getTimezoneSettings');

    token = null;
    const anonymous = await rejection(client.system.timezone.updateTimezoneSettings.mutate({ timezone: 'UTC' }));
    expectError(anonymous, 'UNAUTHORIZED', 401, 'system.timezone.updateTimezoneSettings');
    expect(requests.at(-1).method === 'POST', 'mutations go by POST', requests.at(-1));

    requests.length = 0;
    const [ok, bad] = await Promise.allSettled([
      client.system.getLicense.query(),
      client.system.nothingHere.query(),
    ]);
    expect(requests.length === 1 && requests[0].status === 207, 'one mixed batch answered 207', requests);
    expect(ok.status === 'fulfilled' && ok.value.type === 'enterprise', 'the good call succeeds', ok);
    expect(bad.status === 'rejected', 'the bad call fails alone', bad);
    expectError(bad.reason, 'NOT_FOUND', 404, 'system.nothingHere');
  },

  async bearer() {
    const email = process.env.TVMS_EMAIL;
    const password = process.env.TVMS_PASSWORD;
    expect(email && password, 'TVMS_EMAIL and TVMS_PASSWORD are set', null);
    const wrong = await rejection(client.auth.login.mutate({ email, password: `${password}-wrong` }));
    expectError(wrong, 'UNAUTHORIZED', 401, 'auth.login');
    const login = await client.auth.login.mutate({ email, password });
    expect(typeof login.token === 'string' && login.user?.email === email, 'a token for the user', login);
    token = login.token;
    const me = await client.auth.me.query();
    expect(me.email === email && me.role === 'ADMIN', 'auth.me with the Bearer token', me);
    const saved = token;
    token = 'not-a-token';
    const forged = await rejection(client.auth.me.query());
    expectError(forged, 'UNAUTHORIZED', 401, 'auth.me');
    token = saved;
  },

  async date() {
    expect(token, 'the date step runs after bearer (it needs a signed-in user)', null);
    const name = process.env.TVMS_DATE_MUTATION || 'settings.update';
    if (name === 'settings.update') {
      const when = new Date('2024-11-15T12:34:56.789Z');
      const setting = await client.settings.update.mutate({ key: 'app.name', value: when });
      expect(setting.value === when.toISOString(), 'the Date arrived as its ISO string', setting);
      const all = await client.settings.getAll.query();
      const stored = all.find((s) => s.key === 'app.name');
      expect(stored?.value === '2024-11-15T12:34:56.789Z', 'and was stored as such', stored);
    } else if (name === 'reports.generate') {
      const to = new Date();
      const from = new Date(to.getTime() - 86_400_000);
      const report = await client.reports.generate.mutate({ type: 'VIOLATIONS_SUMMARY', from, to, format: 'JSON' });
      expect(typeof report.id === 'string' && typeof report.status === 'string', 'a queued report', report);
    } else {
      throw new Mismatch(`no Date-input case for ${name}: add one to run.mjs`);
    }
  },
};

const wanted = process.argv.slice(2);
const order = wanted.length ? wanted : Object.keys(steps);
try {
  for (const step of order) {
    if (!(step in steps)) throw new Mismatch(`unknown step ${step}`);
    await steps[step]();
    console.log(`ok ${step}`);
  }
} catch (error) {
  console.error(`FAIL: ${error instanceof Mismatch ? error.message : error?.stack ?? error}`);
  process.exit(1);
}
