// A reference front end for engage: the tutee list and one student's
// dashboard, served as the web role.  It does what docs/front-end.md says a
// front end does: one login role that is a member of engage_app, and every
// request in a transaction that names the signed-in person first.  It reads
// engage.my_students_json() and engage.dashboard(), nothing else.
//
// The sign-in is a demo picker (a cookie holding an id), not authentication:
// a real front end takes the id from its single sign-on.
//
//   PGHOST=... PGDATABASE=... PGUSER=<member of engage_app> node server.js
//   PORT (default 8080), DEMO_USERS: JSON [{"id": ..., "label": ...}] for the picker
'use strict';
const http = require('http');
const { Pool } = require('pg');

const port = Number(process.env.PORT || 8080);
const demoUsers = JSON.parse(process.env.DEMO_USERS || '[]');
const pool = new Pool({ max: 4 });

// One request, one transaction, one viewer: set_config(..., true) is
// SET LOCAL, so the next transaction on this pooled connection names nobody.
async function asViewer(viewer, sql, params) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('engage.viewer', $1, true)", [viewer]);
    const { rows } = await client.query(sql, params);
    await client.query('COMMIT');
    return rows[0].result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}
const num = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
const day = (v) => (v ? String(v).slice(0, 10) : '–');

function page(title, viewer, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · My Progress</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 2em 2em; color: #222; }
header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 2px solid #00594f; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; color: #00594f; }
table { border-collapse: collapse; margin: .4em 0; } td, th { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f3f6f5; } .num { text-align: right; }
.badge { display: inline-block; padding: 0 6px; margin: 1px; border-radius: 8px; background: #fde2e1; color: #8a1c17; font-size: .85em; }
.muted { color: #777; } .notice { background: #fff7d6; padding: .5em 1em; border-left: 4px solid #e0b400; }
section { max-width: 1100px; }
</style></head>
<body><header><h1>My Progress</h1><span>${viewer ? `Signed in as ${esc(viewer)} · <a href="/signout">sign out</a>` : ''}</span></header>
${body}</body></html>`;
}

function picker() {
  const items = demoUsers.map((u) => `<li><a href="/signin?id=${encodeURIComponent(u.id)}">${esc(u.label)}</a></li>`).join('');
  return page('Sign in', null, `<h2>Sign in (demo)</h2>
<p>Pick a person to see what they see.</p><ul>${items}</ul>
<form action="/signin"><label>Or a student or staff id: <input name="id"></label> <button>Sign in</button></form>`);
}

function studentList(viewer, students) {
  const rows = students.map((s) => `<tr data-student="${esc(s.student_id)}">
<td><a href="/student/${encodeURIComponent(s.student_id)}">${esc(s.full_name)}</a></td>
<td>${esc(s.programme)}</td><td class="num">${esc(s.year_of_study)}</td><td>${s.consent ? 'yes' : 'no'}</td>
<td class="num">${num(s.attendance_rate_4wk)}</td><td class="num">${num(s.score, 2)}</td>
<td class="num">${num(s.score_change_4wk, 2)}</td><td class="num">${num(s.mean_mark)}</td><td>${esc(s.mark_band ?? '–')}</td>
<td>${esc(s.programme_position ?? '–')}</td><td>${day(s.last_meeting)}</td>
<td>${s.open_alerts.map((k) => `<span class="badge">${esc(k)}</span>`).join('')}</td></tr>`).join('');
  return page('My students', viewer, `<h2>My students</h2>
<table id="students"><tr><th>Student</th><th>Programme</th><th>Year</th><th>Consent</th><th>Attendance 4 wk %</th>
<th>Score</th><th>vs 4 wk ago</th><th>Mean mark</th><th>Band</th><th>In programme</th><th>Last meeting</th><th>Open alerts</th></tr>
${rows}</table>${students.length ? '' : '<p class="muted">Nobody to show.</p>'}`);
}

// The 7-day score, overall (thick) and per module (thin), as an SVG line chart.
function scoreChart(series) {
  const w = 900; const h = 260; const left = 40; const bottom = 24; const top = 10;
  const days = [...new Set(series.flatMap((s) => s.days.map((d) => day(d.day))))].sort();
  if (days.length === 0) return '<p class="muted">No engagement computed yet.</p>';
  const max = Math.max(1, ...series.flatMap((s) => s.days.map((d) => d.score)));
  const x = (d) => left + (days.indexOf(d) / Math.max(1, days.length - 1)) * (w - left - 10);
  const y = (v) => top + (1 - v / max) * (h - top - bottom);
  const colours = ['#00594f', '#d1495b', '#edae49', '#66a182', '#2e4057', '#8d6a9f', '#4f6d7a', '#c05746'];
  const lines = series.map((s, i) => {
    const pts = s.days.map((d) => `${x(day(d.day)).toFixed(1)},${y(d.score).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${colours[i % colours.length]}" stroke-width="${s.module_code ? 1.2 : 3}"
  points="${pts}"><title>${esc(s.module_title)}</title></polyline>`;
  }).join('\n');
  const ticks = [0, 0.5, 1].map((f) => `<text x="4" y="${y(f * max) + 4}" font-size="10">${(f * max).toFixed(1)}</text>`).join('');
  const legend = series.map((s, i) => `<span style="color:${colours[i % colours.length]}">■</span> ${esc(s.module_title)}`).join(' &nbsp; ');
  return `<svg id="score-chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="7-day engagement score">
<line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#999"/>${ticks}
<text x="${left}" y="${h - 6}" font-size="10">${days[0]}</text>
<text x="${w - 80}" y="${h - 6}" font-size="10">${days[days.length - 1]}</text>
${lines}</svg><p>${legend}</p>`;
}

function table(id, head, rows) {
  return `<table id="${id}"><tr>${head.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>
${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</table>`;
}

function dashboard(viewer, d) {
  const s = d.student;
  const parts = [`<h2>${esc(s.full_name)}</h2>
<p>${esc(s.programme)}, year ${esc(s.year_of_study)} · ${esc(s.college)} · attendance this year ${num(s.attendance_rate)}%
${s.consent ? ` · score ${num(s.score, 2)} (${day(s.score_day)}) · mean mark ${num(s.mean_mark)} ${esc(s.mark_band ?? '')}
· ${esc(s.programme_position ?? 'no programme position')}` : ''}</p>`];
  if (!s.consent) {
    parts.push('<p class="notice" id="no-consent">No consent to learning analytics this year: only attendance and meeting notes are shown.</p>');
  }
  if (d.alerts.length) {
    parts.push(`<section id="alerts"><h2>Alerts</h2>${table('alert-list', ['Alert', 'Module', 'Fired on', 'Cleared'],
      d.alerts.map((a) => [a.title, a.module_title ?? '', day(a.fired_on), a.open ? 'open' : day(a.cleared_at)]))}</section>`);
  }
  if (s.consent) {
    parts.push(`<section id="engagement"><h2>Engagement: 7-day score, last 8 weeks</h2>${scoreChart(d.engagement)}</section>`);
  }
  parts.push(`<section id="attendance"><h2>Attendance</h2>${table('attendance-modules',
    ['Module', 'Sessions', 'Present', 'Authorised', 'Absent', 'Rate %'],
    d.attendance.modules.map((m) => [`${m.module_code} ${m.module_title}`, m.module_sessions, m.module_present,
      m.module_authorised, m.module_absent, num(m.module_rate)]))}
<details><summary>Sessions of the last 8 weeks (${d.attendance.sessions.length})</summary>${table('attendance-sessions',
    ['When', 'Module', 'Type', 'Status'],
    d.attendance.sessions.map((a) => [String(a.starts_at).slice(0, 16).replace('T', ' '), a.module_code, a.session_type, a.status]))}</details></section>`);
  if (s.consent) {
    parts.push(`<section id="grades"><h2>Grades (provisional)</h2>${d.exam_period
      ? '<p class="notice">Marks are hidden during the exam period.</p>'
      : table('grade-list', ['Module', 'Assessment', 'Kind', 'Mark', 'Band'],
        d.grades.map((g) => [`${g.module_code} ${g.module_title}`, g.assessment, g.kind, num(g.mark, 0), g.band]))}</section>`);
    parts.push(`<section id="employability"><h2>Employability</h2>${table('employability-list',
      ['Year', 'Stage', 'Sector', 'Work experience', 'Activities'],
      d.employability.map((e) => [e.academic_year, e.readiness_stage, e.sector ?? '', e.work_experience ? 'yes' : 'no', e.activities]))}</section>`);
  }
  parts.push(`<section id="meetings"><h2>Meeting notes</h2>${d.meetings.length ? d.meetings.map((n) => `<article class="note">
<h3>${day(n.met_on)} · ${esc(n.focus === 'issue' ? n.issue : 'routine')} · ${esc(n.author_name)} (${esc(n.author_role)})</h3>
<p>${esc(n.discussed)}</p><p><em>${esc(n.summary)}</em></p>
${n.actions.length ? `<ul>${n.actions.map((a) => `<li>${esc(a.action)} (${esc(a.by)})</li>`).join('')}</ul>` : ''}</article>`).join('')
    : '<p class="muted">No meetings recorded.</p>'}</section>`);
  return page(s.full_name, viewer, `<p><a href="/">← My students</a></p>${parts.join('\n')}`);
}

function viewerOf(req) {
  const m = /(?:^|;\s*)viewer=([^;]+)/.exec(req.headers.cookie || '');
  return m ? decodeURIComponent(m[1]) : null;
}

function send(res, status, html, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
  res.end(html);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const viewer = viewerOf(req);
  if (url.pathname === '/signin' && url.searchParams.get('id')) {
    const next = url.searchParams.get('next') || '/';
    return send(res, 302, '', {
      'Set-Cookie': `viewer=${encodeURIComponent(url.searchParams.get('id'))}; Path=/; HttpOnly; SameSite=Lax`,
      Location: next.startsWith('/') && !next.startsWith('//') ? next : '/',
    });
  }
  if (url.pathname === '/signout') {
    return send(res, 302, '', { 'Set-Cookie': 'viewer=; Path=/; Max-Age=0', Location: '/' });
  }
  if (!viewer) return send(res, 200, picker());
  if (url.pathname === '/') {
    const students = await asViewer(viewer, 'SELECT engage.my_students_json() AS result');
    return send(res, 200, studentList(viewer, students));
  }
  const m = /^\/student\/([^/]+)$/.exec(url.pathname);
  if (m) {
    const d = await asViewer(viewer, 'SELECT engage.dashboard($1) AS result', [decodeURIComponent(m[1])]);
    if (d === null) return send(res, 404, page('Not found', viewer, '<h2>Not found</h2><p>No such student among yours.</p>'));
    return send(res, 200, dashboard(viewer, d));
  }
  return send(res, 404, page('Not found', viewer, '<h2>Not found</h2>'));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    send(res, 500, page('Error', null, '<h2>Something went wrong</h2>'));
  });
});
server.listen(port, '127.0.0.1', () => console.log(`engage web example on http://127.0.0.1:${port}/`));
