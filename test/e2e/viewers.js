// The web front end's access pattern, end to end: several viewers, each with
// its own client of the npm `pg` driver, interleave transactions through
// pgbouncer in transaction mode over fewer server connections than clients.
// Every transaction names its viewer with set_config(..., true) and must see
// exactly that viewer's students; a transaction that names nobody sees nobody.
// Prints TAP.
'use strict';
const { Client } = require('pg');

const port = Number(process.env.PGBOUNCER_PORT);
const rounds = 30;
const viewers = [
  { id: 'T1', sees: 'S1,S2' },
  { id: 'T2', sees: 'S3' },
  { id: 'S1', sees: 'S1' },
  { id: 'S3', sees: 'S3' },
  { id: null, sees: '' },
];

let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n += 1;
  if (!cond) failed += 1;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond && diag) console.log(`# ${diag}`);
}

async function transaction(client, viewer) {
  await client.query('BEGIN');
  try {
    if (viewer.id !== null) {
      await client.query("SELECT set_config('engage.viewer', $1, true)", [viewer.id]);
    }
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const { rows } = await client.query(
      'SELECT string_agg(student_id, \',\' ORDER BY student_id) AS ids FROM engage.my_students');
    const grades = await client.query(
      'SELECT string_agg(DISTINCT student_id, \',\' ORDER BY student_id) AS ids FROM engage.dashboard_grades');
    await client.query('COMMIT');
    return { pid, ids: rows[0].ids || '', grades: grades.rows[0].ids || '' };
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

async function main() {
  console.log(`1..${viewers.length + 3}`);
  const clients = viewers.map(() => new Client({
    host: '127.0.0.1', port, database: 'engage_e2e', user: 'e2e_app', password: 'e2e-secret',
  }));
  await Promise.all(clients.map((c) => c.connect()));

  // a careless client that sets the viewer for its whole session
  const careless = new Client({
    host: '127.0.0.1', port, database: 'engage_e2e', user: 'e2e_app', password: 'e2e-secret',
  });
  await careless.connect();
  await careless.query("SET engage.viewer = 'T1'");

  const results = viewers.map(() => []);
  for (let r = 0; r < rounds; r += 1) {
    // all viewers at once, in a different order each round
    const order = viewers.map((_, i) => i).sort((a, b) => ((a * 7 + r * 3) % 5) - ((b * 7 + r * 3) % 5));
    await Promise.all(order.map(async (i) => {
      results[i].push(await transaction(clients[i], viewers[i]));
    }));
  }

  viewers.forEach((v, i) => {
    const wrong = results[i].filter((x) => x.ids !== v.sees);
    ok(wrong.length === 0, `viewer ${v.id || '(none)'} sees exactly ${v.sees || 'nobody'} in all ${rounds} transactions`,
       wrong.length ? `saw ${wrong[0].ids}` : '');
  });
  const consenting = results[0].every((x) => x.grades === 'S1');
  ok(consenting, 'the tutor sees grades only of the consenting tutee in every transaction');

  // transaction pooling really shared server connections between viewers
  const byPid = new Map();
  viewers.forEach((v, i) => results[i].forEach((x) => {
    if (!byPid.has(x.pid)) byPid.set(x.pid, new Set());
    byPid.get(x.pid).add(v.id);
  }));
  const shared = [...byPid.values()].some((s) => s.size > 1);
  ok(shared && byPid.size < viewers.length,
     `${viewers.length} clients ran over ${byPid.size} server connections, each serving several viewers`);

  const after = await transaction(careless, { id: null });
  ok(after.ids === '', 'a session-level SET by one client names nobody in later transactions', `saw ${after.ids}`);

  await Promise.all([...clients, careless].map((c) => c.end()));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { console.log(`not ok - ${e.message}`); process.exitCode = 1; });
